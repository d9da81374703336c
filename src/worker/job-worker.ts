import { rm } from 'node:fs/promises';
import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError, toMediaflowError } from '../core/errors.js';
import type { Job } from '../core/job.types.js';
import type { JobInput, ProcessorDefinition } from '../core/processor.types.js';
import { enabledProcessors } from '../processors/registry.js';
import type { JobStore, Queue } from '../core/ports/job-store.port.js';
import { createJobContext } from './job-context.js';

export interface JobWorkerDeps {
  config: AppConfig;
  store: JobStore;
  queue: Queue;
  blobs: BlobStore;
  /** Restrict this worker to some processors (default: all enabled). */
  only?: string[];
  log?: (level: string, message: string, extra?: Record<string, unknown>) => void;
}

interface Running {
  job: Job;
  controller: AbortController;
  canceled: boolean;
  done: Promise<void>;
}

/** The effective global concurrency of each processor: config override, else the processor's policy. */
export function concurrencyLimits(config: AppConfig, processors: ProcessorDefinition<any, any>[]): Record<string, number> {
  return Object.fromEntries(processors.map((p) => [p.name, config.concurrency[p.name] ?? p.policy.concurrency]));
}

/**
 * Leases jobs and runs their processors in this process, with heartbeats, timeouts and
 * cancellation. Heavy processors keep their own compute off this event loop (native threads in
 * onnxruntime/sharp/tesseract, or worker threads), so heartbeats keep flowing.
 */
export class JobWorker {
  readonly id = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly processors: Map<string, ProcessorDefinition<any, any>>;
  private readonly limits: Record<string, number>;
  private readonly running = new Map<string, Running>();
  private readonly maxInFlight: number;
  private stopping = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private ticking = false;
  private again = false;

  constructor(private readonly d: JobWorkerDeps) {
    const all = enabledProcessors(d.config.enableTestProcessors).filter((p) => !d.only || d.only.includes(p.name));
    this.processors = new Map(all.map((p) => [p.name, p]));
    this.limits = concurrencyLimits(d.config, all);
    this.maxInFlight = Math.max(1, Object.values(this.limits).reduce((a, b) => a + b, 0));
  }

  start(): this {
    this.pollTimer = setInterval(() => this.wake(), this.d.config.workers.pollMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.d.config.workers.heartbeatMs);
    this.wake();
    return this;
  }

  /** Look for work now (called on a local submit, and after each job ends). */
  wake(): void {
    if (this.stopping) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    void this.tick().finally(() => {
      this.ticking = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    });
  }

  private async tick(): Promise<void> {
    const free = this.maxInFlight - this.running.size;
    if (free <= 0) return;
    let jobs: Job[];
    try {
      jobs = await this.d.queue.lease({ workerId: this.id, limits: this.limits, max: free, leaseMs: this.d.config.workers.leaseMs });
    } catch (err) {
      this.d.log?.('warn', 'lease failed', { err: String(err) });
      return;
    }
    for (const job of jobs) this.start1(job);
    if (jobs.length === free) this.again = true;
  }

  /** Cancel a job this worker runs (IPC from the API process, or a heartbeat's answer). */
  cancel(jobId: string): void {
    const r = this.running.get(jobId);
    if (r && !r.canceled) {
      r.canceled = true;
      r.controller.abort(new MediaflowError('JOB_CANCELED'));
    }
  }

  private async heartbeat(): Promise<void> {
    const ids = [...this.running.keys()];
    if (ids.length === 0) return;
    try {
      const cancel = await this.d.queue.heartbeat(this.id, ids, this.d.config.workers.leaseMs);
      for (const id of cancel) this.cancel(id);
    } catch (err) {
      this.d.log?.('warn', 'heartbeat failed', { err: String(err) });
    }
  }

  private start1(job: Job): void {
    const controller = new AbortController();
    const entry: Running = { job, controller, canceled: job.cancelRequested, done: Promise.resolve() };
    this.running.set(job.id, entry);
    entry.done = this.run(job, entry).finally(() => {
      this.running.delete(job.id);
      this.wake();
    });
  }

  private async run(job: Job, entry: Running): Promise<void> {
    const processor = this.processors.get(job.processor);
    if (!processor) {
      await this.d.queue.fail(job.id, this.id, { code: 'PROCESSOR_UNKNOWN', message: `This worker has no processor ${job.processor}` }, false, 0);
      return;
    }
    const { controller } = entry;
    if (entry.canceled) controller.abort(new MediaflowError('JOB_CANCELED'));
    const timeoutMs = processor.policy.timeoutMs;
    const timeout = setTimeout(() => controller.abort(new MediaflowError('JOB_TIMEOUT', `The job took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    let ctx: Awaited<ReturnType<typeof createJobContext>> | null = null;
    const started = Date.now();
    try {
      ctx = await createJobContext({ job, config: this.d.config, store: this.d.store, blobs: this.d.blobs, signal: controller.signal });
      const input: JobInput = job.input.kind === 'file'
        ? { kind: 'file', path: await this.d.blobs.localPath(job.input.sha256), name: job.input.name, mime: job.input.mime, size: job.input.size, sha256: job.input.sha256 }
        : { kind: 'url', url: job.input.url };
      const result = await processor.run(ctx, input, job.params);
      // A processor that ignored the signal still does not "succeed" after a cancel or timeout.
      if (controller.signal.aborted) throw controller.signal.reason;
      await ctx.flush();
      await this.d.queue.complete(job.id, this.id, result ?? null);
      this.d.log?.('info', 'job succeeded', { jobId: job.id, processor: job.processor, ms: Date.now() - started });
    } catch (raw) {
      await ctx?.flush().catch(() => undefined);
      if (this.stopping && !entry.canceled && controller.signal.aborted) {
        // Shutting down: releaseWorker() hands the job back to the queue.
      } else if (entry.canceled) {
        await this.d.queue.canceled(job.id, this.id);
        this.d.log?.('info', 'job canceled', { jobId: job.id });
      } else {
        const reason = controller.signal.aborted ? controller.signal.reason : raw;
        const err = toMediaflowError(reason);
        await this.d.queue.fail(job.id, this.id, err.toJSON(), err.retryable, processor.policy.backoffMs);
        this.d.log?.(err.retryable ? 'warn' : 'info', 'job attempt failed', { jobId: job.id, code: err.code, message: err.message });
      }
    } finally {
      clearTimeout(timeout);
      if (ctx?.tmpdirIfCreated) await rm(ctx.tmpdirIfCreated, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stops leasing. With `graceful`, waits up to `timeoutMs` for running jobs; whatever still runs is
   * then aborted and handed back to the queue without spending an attempt.
   */
  async stop(graceful = true, timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    const settle = (ms: number) => Promise.race([
      Promise.all([...this.running.values()].map((r) => r.done)),
      new Promise((r) => setTimeout(r, ms).unref()),
    ]);
    if (graceful) await settle(timeoutMs);
    for (const r of this.running.values()) r.controller.abort(new MediaflowError('INTERNAL', 'worker shutting down'));
    // Aborted processors stop at their next check; give them a moment so nothing writes after we return.
    await settle(5_000);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.d.queue.releaseWorker(this.id, { crashed: false }).catch(() => undefined);
  }
}
