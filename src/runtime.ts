import path from 'node:path';
import type { AppConfig } from './config/config.schema.js';
import { JobService, type JobServiceDeps } from './core/jobs.service.js';
import type { ProcessorDefinition } from './core/processor.types.js';
import type { BlobStore } from './core/ports/blob-store.port.js';
import type { EventLog } from './core/ports/event-log.port.js';
import type { JobStore } from './core/ports/job-store.port.js';
import type { Queue } from './core/ports/queue.port.js';
import type { WebhookOutbox } from './core/ports/webhook-outbox.port.js';
import type { WorkerRegistry } from './core/ports/worker-registry.port.js';
import { Scratch } from './core/scratch.js';
import { FsBlobStore } from './adapters/fs/fs.blob-store.js';
import { openSqlite, SqliteHandle } from './adapters/sqlite/sqlite.db.js';
import { SqliteEventLog } from './adapters/sqlite/sqlite.event-log.js';
import { SqliteQueue } from './adapters/sqlite/sqlite.queue.js';
import { SqliteJobStore } from './adapters/sqlite/sqlite.store.js';
import { SqliteWebhookOutbox } from './adapters/sqlite/sqlite.webhook-outbox.js';
import { SqliteWorkerRegistry } from './adapters/sqlite/sqlite.worker-registry.js';
import type { Adapters } from './runtime.adapters.js';
import { mimeMatches, sniffMime } from './media/sniff.js';
import { assertUrlAllowed, downloadToFile } from './net/index.js';
import { enabledProcessors } from './processors/registry.js';

/** The adapters behind the ports, chosen by configuration: the composition root. */
export interface Runtime {
  config: AppConfig;
  processors: ProcessorDefinition<any, any>[];
  store: JobStore;
  queue: Queue;
  blobs: BlobStore;
  events: EventLog;
  workers: WorkerRegistry;
  webhooks: WebhookOutbox;
  scratch: Scratch;
  jobs: JobService;
  /** Services that /ready reports by name (embedded: the SQLite file and the data folder). */
  services: Record<string, () => Promise<void>>;
  onQueueReconnect?(fn: () => void): () => void;
  close(): Promise<void>;
}

export interface RuntimeHooks {
  onQueued?: JobServiceDeps['onQueued'];
}


/**
 * Embedded mode: one SQLite file (`<data>/mediaflow.db`) holds jobs, queue and events; blobs are
 * files under `<data>/blobs`. Every process on the same data folder (API, workers) opens the same.
 */
async function openEmbedded(config: AppConfig): Promise<Adapters> {
  const h = new SqliteHandle(openSqlite(path.join(config.data, 'mediaflow.db')));
  const store = new SqliteJobStore(h);
  const queue = new SqliteQueue(h);
  const events = new SqliteEventLog(h);
  const blobs = await new FsBlobStore(path.join(config.data, 'blobs')).init();
  return {
    store, queue, blobs, events, workers: new SqliteWorkerRegistry(h), webhooks: new SqliteWebhookOutbox(h),
    services: { sqlite: () => store.ping(), blobs: () => blobs.ping() },
    async close() {
      await events.close();
      await queue.close();
      await store.close();
    },
  };
}

export async function openAdapters(config: AppConfig): Promise<Adapters> {
  if (config.mode === 'distributed') {
    const { openDistributed } = await import('./runtime.distributed.js');
    return openDistributed(config);
  }
  return openEmbedded(config);
}

export async function openRuntime(config: AppConfig, hooks: RuntimeHooks = {}): Promise<Runtime> {
  const a = await openAdapters(config);
  const scratch = new Scratch(config.data);
  const processors = enabledProcessors(config.enableTestProcessors);
  const jobs = new JobService({
    config,
    processors,
    store: a.store,
    queue: a.queue,
    blobs: a.blobs,
    events: a.events,
    scratch,
    checkUrl: assertUrlAllowed,
    fetchUrl: async (url, dest, opts) => {
      // The blob store hashes the file when it takes it: no second hash while downloading.
      const r = await downloadToFile(url, dest, { config: opts.config, maxBytes: opts.maxBytes, signal: opts.signal, hash: false });
      return { fileName: r.fileName };
    },
    sniffMime,
    mimeMatches,
    onQueued: hooks.onQueued,
  });
  return {
    config, processors, jobs, scratch,
    store: a.store, queue: a.queue, blobs: a.blobs, events: a.events, workers: a.workers, webhooks: a.webhooks, services: a.services,
    onQueueReconnect: a.onQueueReconnect,
    async close() {
      await a.close();
      await scratch.close();
    },
  };
}
