import client from 'prom-client';
import type { Runtime } from '../runtime.js';

/**
 * Prometheus metrics: HTTP latencies (observed by a server hook), jobs by processor and status and
 * queue depth (read from the store at scrape time, so they are right across processes), job
 * durations (observed from `done` events, their jobs read in batches).
 */
export function createMetrics(rt: Runtime) {
  const registry = new client.Registry();
  // Unprefixed: the conventional names (process_cpu_seconds_total, nodejs_heap_size_used_bytes...) that dashboards expect.
  client.collectDefaultMetrics({ register: registry });
  const http = new client.Histogram({
    name: 'mediaflow_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
    registers: [registry],
  });
  const durations = new client.Histogram({
    name: 'mediaflow_job_duration_seconds',
    help: 'Job run time from start to end, by processor and final status',
    labelNames: ['processor', 'status'],
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 3600],
    registers: [registry],
  });
  new client.Gauge({
    name: 'mediaflow_jobs',
    help: 'Jobs by processor and status',
    labelNames: ['processor', 'status'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const r of await rt.store.countByStatus()) this.set({ processor: r.processor, status: r.status }, r.count);
    },
  });
  new client.Gauge({
    name: 'mediaflow_queue_depth',
    help: 'Queued jobs waiting for a worker, by processor',
    labelNames: ['processor'],
    registers: [registry],
    async collect() {
      this.reset();
      for (const [processor, n] of Object.entries(await rt.queue.depth())) this.set({ processor }, n);
    },
  });
  new client.Gauge({
    name: 'mediaflow_webhook_deliveries_pending',
    help: 'Webhook deliveries not yet sent (waiting, in flight, or waiting to be retried)',
    registers: [registry],
    async collect() {
      this.set(await rt.webhooks.pending());
    },
  });
  // Durations come from the ended jobs' records, looked up together: one query a second under
  // load, not one per job.
  const ended = new Set<string>();
  let flushing = false;
  const flush = async () => {
    if (flushing || ended.size === 0) return;
    flushing = true;
    const ids = [...ended].slice(0, 500);
    for (const id of ids) ended.delete(id);
    try {
      for (const job of await rt.store.getMany(ids)) {
        if (job.startedAt && job.finishedAt) {
          durations.observe({ processor: job.processor, status: job.status }, (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000);
        }
      }
    } catch {
      // The store is away: these durations are not observed.
    } finally {
      flushing = false;
    }
  };
  const timer = setInterval(() => void flush(), 1000);
  timer.unref();
  const unsubscribe = rt.events.subscribe('*', (ev) => {
    if (ev.type === 'done') ended.add(ev.jobId);
  });
  const close = () => {
    unsubscribe();
    clearInterval(timer);
  };
  return { registry, http, close };
}
