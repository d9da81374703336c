import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../../src/core/ports/blob-store.port.js';
import type { EventLog } from '../../src/core/ports/event-log.port.js';
import type { JobStore } from '../../src/core/ports/job-store.port.js';
import type { Queue } from '../../src/core/ports/queue.port.js';
import { FsBlobStore } from '../../src/adapters/fs/fs.blob-store.js';
import { openSqlite, SqliteHandle } from '../../src/adapters/sqlite/sqlite.db.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite.event-log.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite.queue.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite.store.js';

/** One process's view of a backend: the ports as a process opens them. */
export interface Ports {
  store: JobStore;
  queue: Queue;
  events: EventLog;
  close(): Promise<void>;
}

/** A fresh, empty backend; `peer()` opens it again with separate connections, as another process would. */
export interface Backend {
  open(): Promise<Ports>;
  destroy(): Promise<void>;
}

export interface BackendFactory {
  name: string;
  /** A reason to skip (the service is not reachable here), or null. */
  unavailable(): Promise<string | null>;
  create(): Promise<Backend>;
}

export interface BlobBackend {
  blobs: BlobStore;
  scratch: string;
  destroy(): Promise<void>;
}

export interface BlobBackendFactory {
  name: string;
  unavailable(): Promise<string | null>;
  create(): Promise<BlobBackend>;
}

export const sqliteBackend: BackendFactory = {
  name: 'sqlite',
  unavailable: async () => null,
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-conf-'));
    const file = path.join(dir, 'mediaflow.db');
    return {
      async open() {
        const h = new SqliteHandle(openSqlite(file));
        const events = new SqliteEventLog(h);
        const queue = new SqliteQueue(h);
        return { store: new SqliteJobStore(h), queue, events, async close() { await events.close(); await queue.close(); h.close(); } };
      },
      async destroy() { rmSync(dir, { recursive: true, force: true }); },
    };
  },
};

export const fsBlobBackend: BlobBackendFactory = {
  name: 'fs',
  unavailable: async () => null,
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-conf-blobs-'));
    const blobs = await new FsBlobStore(path.join(dir, 'blobs')).init();
    const scratch = path.join(dir, 'scratch');
    return { blobs, scratch, async destroy() { rmSync(dir, { recursive: true, force: true }); } };
  },
};

/** Every queue/store/event backend the suites run on; distributed adapters join when their services run. */
export const BACKENDS: BackendFactory[] = [sqliteBackend];
export const BLOB_BACKENDS: BlobBackendFactory[] = [fsBlobBackend];
