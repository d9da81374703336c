import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { BlobStore } from '../../src/core/ports/blob-store.port.js';
import type { EventLog } from '../../src/core/ports/event-log.port.js';
import type { JobStore } from '../../src/core/ports/job-store.port.js';
import type { Queue } from '../../src/core/ports/queue.port.js';
import type { WebhookOutbox } from '../../src/core/ports/webhook-outbox.port.js';
import { FsBlobStore } from '../../src/adapters/fs/fs.blob-store.js';
import { openSqlite, SqliteHandle } from '../../src/adapters/sqlite/sqlite.db.js';
import { SqliteEventLog } from '../../src/adapters/sqlite/sqlite.event-log.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite.queue.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite.store.js';
import { SqliteWebhookOutbox } from '../../src/adapters/sqlite/sqlite.webhook-outbox.js';
import { S3BlobStore } from '../../src/adapters/s3/s3.blob-store.js';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq.queue.js';
import { openPostgres } from '../../src/adapters/postgres/postgres.db.js';
import { PgEventLog } from '../../src/adapters/postgres/postgres.event-log.js';
import { PgJobStore } from '../../src/adapters/postgres/postgres.job-store.js';
import { PgLeaseRecords } from '../../src/adapters/postgres/postgres.lease-records.js';
import { PgWebhookOutbox } from '../../src/adapters/postgres/postgres.webhook-outbox.js';
import { createPostgresDatabase, postgresBackendAvailable } from './backend.postgres.js';
import { startS3ForTests, s3UnavailableReason, type S3ForTests } from './backend.s3.js';

/** One process's view of a backend: the ports as a process opens them. */
export interface Ports {
  store: JobStore;
  queue: Queue;
  events: EventLog;
  webhooks: WebhookOutbox;
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
        return { store: new SqliteJobStore(h), queue, events, webhooks: new SqliteWebhookOutbox(h), async close() { await events.close(); await queue.close(); h.close(); } };
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

let s3Server: Promise<S3ForTests | null> | null = null;

/** S3 (Swift with s3api) on a private port, shared by the suites in this process; each backend gets its own prefix. */
export const s3BlobBackend: BlobBackendFactory = {
  name: 's3',
  async unavailable() {
    s3Server ??= startS3ForTests();
    return (await s3Server) ? null : s3UnavailableReason || 'no S3 server';
  },
  async create() {
    const s3 = (await s3Server)!;
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-conf-s3-'));
    const blobs = new S3BlobStore({ ...s3, forcePathStyle: true, prefix: `conf-${path.basename(dir)}/` });
    return {
      blobs,
      scratch: path.join(dir, 'scratch'),
      async destroy() {
        await blobs.close?.();
        await s3.dispose();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

async function redisAvailable(url: string): Promise<boolean> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch {
    return false;
  } finally {
    r.disconnect();
  }
}

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The distributed mode's records, events and leases in PostgreSQL, the queue on BullMQ (own database, own key prefix). */
export const postgresBullmqBackend: BackendFactory = {
  name: 'postgres+bullmq',
  async unavailable() {
    if (!(await postgresBackendAvailable())) return 'PostgreSQL is not reachable';
    if (!(await redisAvailable(REDIS_URL))) return 'Redis is not reachable';
    return null;
  },
  async create() {
    const db = await createPostgresDatabase();
    const prefix = `mf-conf-${randomBytes(4).toString('hex')}`;
    return {
      async open() {
        const pg = openPostgres(db.url, { poolSize: 4 });
        const store = new PgJobStore(pg);
        const events = new PgEventLog(pg);
        const records = new PgLeaseRecords(pg);
        const webhooks = new PgWebhookOutbox(pg);
        const queue = new BullmqQueue({ url: REDIS_URL, prefix, records });
        await queue.ready();
        return {
          store, queue, events, webhooks,
          async close() {
            await queue.close();
            await webhooks.close();
            await events.close();
            await records.close();
            await store.close();
          },
        };
      },
      async destroy() {
        const { Redis } = await import('ioredis');
        const r = new Redis(REDIS_URL);
        const keys = await r.keys(`${prefix}:*`);
        if (keys.length) await r.del(...keys);
        r.disconnect();
        await db.drop();
      },
    };
  },
};

/**
 * Inside a suite on one backend: opens it twice before the tests (two `Ports`, as two processes
 * would) and hands them to `opened`, closes and removes it after. Answers the suite's `it`, which
 * skips every test when the backend is unavailable (`reason`).
 */
export function onTwoProcesses(factory: BackendFactory, reason: string | null, opened: (a: Ports, b: Ports) => void) {
  let backend: Backend;
  let a: Ports;
  let b: Ports;
  before(async () => {
    if (reason) return;
    backend = await factory.create();
    a = await backend.open();
    b = await backend.open();
    opened(a, b);
  });
  after(async () => {
    if (reason) return;
    await a.close();
    await b.close();
    await backend.destroy();
  });
  return (name: string, fn: () => Promise<void>) => test(name, { skip: reason ?? false }, fn);
}

/** Every queue/store/event backend the suites run on; distributed adapters join when their services run. */
export const BACKENDS: BackendFactory[] = [sqliteBackend, postgresBullmqBackend];
export const BLOB_BACKENDS: BlobBackendFactory[] = [fsBlobBackend, s3BlobBackend];
