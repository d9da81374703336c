import type { AppConfig } from './config/config.schema.js';
import { BullmqQueue } from './adapters/bullmq/bullmq.queue.js';
import { openPostgres } from './adapters/postgres/postgres.db.js';
import { PgEventLog } from './adapters/postgres/postgres.event-log.js';
import { PgJobStore } from './adapters/postgres/postgres.job-store.js';
import { PgLeaseRecords } from './adapters/postgres/postgres.lease-records.js';
import { migratePostgres } from './adapters/postgres/postgres.migrations.js';
import { PgWebhookOutbox } from './adapters/postgres/postgres.webhook-outbox.js';
import { PgWorkerRegistry } from './adapters/postgres/postgres.worker-registry.js';
import { S3BlobStore } from './adapters/s3/s3.blob-store.js';
import type { Adapters } from './runtime.adapters.js';

/** The S3 settings of a distributed configuration (checked complete at start by the config loader). */
export function s3Settings(config: AppConfig) {
  const s = config.s3;
  return {
    endpoint: s.endpoint, region: s.region, bucket: s.bucket!, prefix: s.prefix, accessKeyId: s.accessKeyId,
    secretAccessKey: s.secretAccessKey, forcePathStyle: s.forcePathStyle, presignDownloads: s.presignDownloads,
  };
}

/** `mediaflow migrate` (and every start): the PostgreSQL schema, under an advisory lock, and the bucket. */
export async function migrateDistributed(config: AppConfig): Promise<string[]> {
  const applied = await migratePostgres(config.postgres.url!);
  const blobs = new S3BlobStore(s3Settings(config));
  try {
    await blobs.ensureBucket();
  } finally {
    await blobs.close();
  }
  return applied;
}

/**
 * Distributed mode: PostgreSQL holds the records, the events, the leases and the worker registry;
 * BullMQ on Redis delivers job ids (and can be rebuilt from PostgreSQL by the reconciler); S3 holds
 * the files. Each process opens its own connections; API and worker nodes share nothing else.
 */
export async function openDistributed(config: AppConfig): Promise<Adapters> {
  await migrateDistributed(config);
  const pg = openPostgres(config.postgres.url!, { poolSize: config.postgres.poolSize });
  const store = new PgJobStore(pg);
  const events = new PgEventLog(pg);
  const records = new PgLeaseRecords(pg);
  const workers = new PgWorkerRegistry(pg);
  const webhooks = new PgWebhookOutbox(pg);
  const queue = new BullmqQueue({ url: config.redis.url!, prefix: config.redis.prefix, records });
  const blobs = new S3BlobStore(s3Settings(config));
  return {
    store, queue, blobs, events, workers, webhooks,
    services: {
      postgres: () => store.ping(),
      redis: () => queue.ping(),
      s3: () => blobs.ping(),
    },
    onQueueReconnect: (fn) => queue.onReconnect(fn),
    async close() {
      await queue.close();
      await events.close();
      await records.close();
      await workers.close();
      await webhooks.close();
      await store.close();
      await blobs.close();
    },
  };
}
