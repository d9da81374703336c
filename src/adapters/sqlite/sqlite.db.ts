import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Job } from '../../core/job.types.js';
import { GroupCommit } from './group-commit.js';

export type Db = Database.Database;

/**
 * One open SQLite file as the adapters share it in a process: the connection, its group commit,
 * and the in-process wake-up of event readers after each commit.
 */
export class SqliteHandle {
  readonly group: GroupCommit;
  private readonly listeners = new Set<() => void>();

  constructor(readonly db: Db) {
    this.group = new GroupCommit(db, () => this.committed());
  }

  /** Runs `fn` in an IMMEDIATE transaction, then wakes event readers. */
  tx<T>(fn: () => T): T {
    const out = this.db.transaction(fn).immediate();
    this.committed();
    return out;
  }

  onCommit(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  committed(): void {
    for (const l of this.listeners) l();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * Schema migrations, applied in order and recorded in `PRAGMA user_version`.
 * Never edit a released migration: add a new one.
 */
const MIGRATIONS: string[] = [
  `
  CREATE TABLE jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    processor TEXT NOT NULL,
    processor_version TEXT NOT NULL,
    params TEXT NOT NULL,
    input TEXT NOT NULL,
    input_sha256 TEXT,
    status TEXT NOT NULL,
    progress REAL NOT NULL DEFAULT 0,
    stage TEXT,
    priority INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 1,
    error TEXT,
    result TEXT,
    dedup_key TEXT,
    idempotency_key TEXT UNIQUE,
    request_fingerprint TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    meta_name TEXT,
    webhook TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    run_at INTEGER NOT NULL,
    lease_owner TEXT,
    lease_expires_at INTEGER,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER
  );
  CREATE INDEX jobs_queue ON jobs(status, run_at, priority DESC, seq);
  CREATE INDEX jobs_lease ON jobs(lease_owner) WHERE lease_owner IS NOT NULL;
  CREATE INDEX jobs_dedup ON jobs(dedup_key) WHERE dedup_key IS NOT NULL;
  CREATE INDEX jobs_input ON jobs(input_sha256) WHERE input_sha256 IS NOT NULL;
  CREATE INDEX jobs_finished ON jobs(finished_at) WHERE finished_at IS NOT NULL;
  CREATE INDEX jobs_meta_name ON jobs(meta_name) WHERE meta_name IS NOT NULL;
  CREATE TABLE job_outputs (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, name)
  );
  CREATE INDEX job_outputs_sha ON job_outputs(sha256);
  CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX events_created ON events(created_at);
  `,
  // Seed 003's main server kept `image_results(filename, status, degree, created_at)`; its jobs
  // are orientation jobs made by POST /upload, so the table is a view over them, always current.
  `
  CREATE VIEW image_results AS
    SELECT meta_name AS filename,
      CASE status WHEN 'succeeded' THEN 'completed' WHEN 'failed' THEN 'error' WHEN 'canceled' THEN 'error' ELSE 'processing' END AS status,
      CASE status WHEN 'succeeded' THEN json_extract(result, '$.degree') END AS degree,
      datetime(created_at / 1000, 'unixepoch') AS created_at
    FROM jobs
    WHERE processor = 'orientation' AND json_extract(meta, '$.source') = 'compat:seed003';
  `,
  // The queue is explicit (a record is created, then enqueued); every attempt gets its own lease
  // token; `solo` marks jobs that ran beside a crash and now run alone until the culprit is known.
  `
  ALTER TABLE jobs ADD COLUMN enqueued INTEGER NOT NULL DEFAULT 1;
  ALTER TABLE jobs ADD COLUMN lease_token TEXT;
  ALTER TABLE jobs ADD COLUMN solo INTEGER NOT NULL DEFAULT 0;
  `,
  `
  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    node TEXT NOT NULL,
    pid INTEGER NOT NULL,
    processors TEXT NOT NULL,
    running TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
  );
  `,
  // Chains: a job may take its input from another job's output; it waits (status 'waiting') until
  // that job succeeds, and is released in the same transaction as that success.
  `
  ALTER TABLE jobs ADD COLUMN upstream_job TEXT;
  ALTER TABLE jobs ADD COLUMN upstream_output TEXT;
  CREATE INDEX jobs_upstream ON jobs(upstream_job) WHERE upstream_job IS NOT NULL;
  `,
  // The webhook outbox: a job's \`done\` event, whichever statement wrote it, adds a delivery in
  // its own transaction when the job has a webhook (a trigger, so no path that ends a job can miss it).
  `
  CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id INTEGER NOT NULL UNIQUE,
    job_id TEXT NOT NULL,
    url TEXT NOT NULL,
    event TEXT NOT NULL,
    body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER NOT NULL,
    claimed_by TEXT,
    claimed_until INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_at);
  CREATE TRIGGER events_webhook_outbox AFTER INSERT ON events
  WHEN json_extract(NEW.data, '$.type') = 'done'
  BEGIN
    INSERT INTO webhook_deliveries (event_id, job_id, url, event, next_at, created_at)
      SELECT NEW.id, id, webhook, NEW.data, NEW.created_at, NEW.created_at FROM jobs WHERE id = NEW.job_id AND webhook IS NOT NULL;
  END;
  `,
];

/** Opens (creating if needed) the embedded database: WAL, foreign keys, busy timeout, migrated. */
export function openSqlite(file: string): Db {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL is durable across process crashes in WAL mode (only an OS crash can lose the last commits).
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Several processes (API, workers) share the file: wait for the write lock instead of failing.
  db.pragma('busy_timeout = 10000');
  migrate(db);
  return db;
}

export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      // Another process may have applied it between our read and taking the write lock.
      if ((db.pragma('user_version', { simple: true }) as number) > v) return;
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
  return MIGRATIONS.length;
}

export interface JobRow {
  seq: number;
  id: string;
  processor: string;
  processor_version: string;
  params: string;
  input: string;
  status: Job['status'];
  progress: number;
  stage: string | null;
  priority: number;
  attempts: number;
  max_attempts: number;
  error: string | null;
  result: string | null;
  dedup_key: string | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  meta: string;
  webhook: string | null;
  cancel_requested: number;
  lease_token: string | null;
  solo: number;
  upstream_job: string | null;
  upstream_output: string | null;
  created_at: number;
  updated_at: number;
  started_at: number | null;
  finished_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function rowToJob(row: JobRow, outputs: Job['outputs']): Job {
  return {
    id: row.id,
    processor: row.processor,
    processorVersion: row.processor_version,
    params: JSON.parse(row.params),
    input: JSON.parse(row.input),
    status: row.status,
    progress: row.progress,
    stage: row.stage,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    error: row.error ? JSON.parse(row.error) : null,
    result: row.result ? JSON.parse(row.result) : null,
    outputs,
    dedupKey: row.dedup_key,
    idempotencyKey: row.idempotency_key,
    meta: JSON.parse(row.meta),
    webhook: row.webhook,
    upstream: row.upstream_job ? { job: row.upstream_job, output: row.upstream_output! } : null,
    cancelRequested: row.cancel_requested === 1,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}
