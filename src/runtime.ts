import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from './core/ports/blob-store.port.js';
import { FsBlobStore } from './adapters/fs/fs.blob-store.js';
import type { AppConfig } from './config/config.schema.js';
import type { EventBus } from './core/ports/event-bus.port.js';
import { StoreTailEventBus } from './adapters/sqlite/sqlite.event-bus.js';
import { JobService, type JobServiceDeps } from './core/jobs.service.js';
import { SqliteQueue } from './adapters/sqlite/sqlite.queue.js';
import type { JobStore, Queue } from './core/ports/job-store.port.js';
import { openSqlite } from './adapters/sqlite/sqlite.db.js';
import { SqliteJobStore } from './adapters/sqlite/sqlite.store.js';
import { assertUrlAllowed, downloadToFile } from './net/index.js';

/** The adapters behind the ports, chosen by configuration. */
export interface Runtime {
  config: AppConfig;
  store: JobStore;
  queue: Queue;
  blobs: BlobStore;
  events: EventBus & { nudge?(): void };
  jobs: JobService;
  close(): Promise<void>;
}

export interface RuntimeHooks {
  onQueued?: JobServiceDeps['onQueued'];
  onCancelRequested?: JobServiceDeps['onCancelRequested'];
}

/**
 * Embedded mode: one SQLite file (`<data>/mediaflow.db`) holds jobs, queue and events; blobs are
 * files under `<data>/blobs`. Every process on the same data folder (API, workers) opens the same.
 */
export async function openRuntime(config: AppConfig, hooks: RuntimeHooks = {}): Promise<Runtime> {
  await mkdir(path.join(config.data, 'tmp'), { recursive: true });
  const db = openSqlite(path.join(config.data, 'mediaflow.db'));
  const store = new SqliteJobStore(db);
  const queue = new SqliteQueue(db);
  const blobs = await new FsBlobStore(path.join(config.data, 'blobs')).init();
  const events = new StoreTailEventBus(store);
  const jobs = new JobService({
    config,
    store,
    blobs,
    events,
    checkUrl: assertUrlAllowed,
    fetchUrl: async (url, dest, opts) => {
      // The blob store hashes the file when it takes it: no second hash while downloading.
      const r = await downloadToFile(url, dest, { config: opts.config, maxBytes: opts.maxBytes, signal: opts.signal, hash: false });
      return { fileName: r.fileName };
    },
    onQueued: hooks.onQueued,
    onCancelRequested: (job) => {
      hooks.onCancelRequested?.(job);
    },
  });
  return {
    config,
    store,
    queue,
    blobs,
    events,
    jobs,
    async close() {
      await events.close();
      await store.close();
    },
  };
}
