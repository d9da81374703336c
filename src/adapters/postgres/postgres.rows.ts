import { sql, type ColumnType, type Kysely, type RawBuilder, type Selectable } from 'kysely';
import type { Job, JobError, JobOutput, JobStatus, StoredInput } from '../../core/job.types.js';

/**
 * The tables as Kysely sees them. jsonb columns are written with `jsonb()` below and read back
 * parsed by the driver; int8 columns (seq, ids, counts) arrive as strings, since a
 * JavaScript number cannot hold every int8 — the few we use stay far below 2^53 and are converted.
 */
type Json<T> = ColumnType<T, RawBuilder<T>, RawBuilder<T>>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface JobsTable {
  seq: ColumnType<string, never, never>;
  id: string;
  processor: string;
  processor_version: string;
  params: Json<Record<string, unknown>>;
  input: Json<StoredInput>;
  input_sha256: string | null;
  status: JobStatus;
  progress: Defaulted<number>;
  stage: string | null;
  priority: number;
  attempts: Defaulted<number>;
  max_attempts: number;
  error: ColumnType<JobError | null, RawBuilder<JobError | null> | null | undefined, RawBuilder<JobError | null> | null>;
  result: ColumnType<unknown, RawBuilder<unknown> | null | undefined, RawBuilder<unknown> | null>;
  dedup_key: string | null;
  idempotency_key: string | null;
  request_fingerprint: string | null;
  meta: Json<Record<string, unknown>>;
  meta_name: string | null;
  webhook: string | null;
  cancel_requested: Defaulted<boolean>;
  solo: Defaulted<boolean>;
  upstream_job: Defaulted<string | null>;
  upstream_output: Defaulted<string | null>;
  run_at: Defaulted<Date>;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: Date | null;
  created_at: Defaulted<Date>;
  updated_at: Defaulted<Date>;
  started_at: Date | null;
  finished_at: Date | null;
}

export interface JobOutputsTable {
  job_id: string;
  name: string;
  size: ColumnType<string, number, number>;
  mime: string;
  sha256: string;
  created_at: Defaulted<Date>;
}

export interface EventsTable {
  id: ColumnType<string, never, never>;
  /** The event's place in the log, given at commit (null until then); readers follow it. */
  pos: ColumnType<string | null, never, never>;
  job_id: string;
  data: Json<unknown>;
  created_at: Defaulted<Date>;
}

export interface WorkersTable {
  id: string;
  node: string;
  pid: number;
  processors: Json<string[]>;
  running: Json<string[]>;
  started_at: Date;
  last_seen_at: Defaulted<Date>;
}

export interface WebhookDeliveriesTable {
  id: ColumnType<string, never, never>;
  event_id: string;
  job_id: string;
  url: string;
  event: Json<unknown>;
  body: string | null;
  attempts: Defaulted<number>;
  next_at: Defaulted<Date>;
  claimed_by: string | null;
  claimed_until: Date | null;
  last_error: string | null;
  created_at: Defaulted<Date>;
}

export interface Schema {
  jobs: JobsTable;
  job_outputs: JobOutputsTable;
  events: EventsTable;
  workers: WorkersTable;
  webhook_deliveries: WebhookDeliveriesTable;
}

export type JobRow = Selectable<JobsTable>;

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

export function rowToJob(row: JobRow, outputs: JobOutput[]): Job {
  return {
    id: row.id,
    processor: row.processor,
    processorVersion: row.processor_version,
    params: row.params,
    input: row.input,
    status: row.status,
    progress: row.progress,
    stage: row.stage,
    priority: row.priority,
    attempts: row.attempts,
    maxAttempts: row.max_attempts,
    error: row.error,
    result: row.result ?? null,
    outputs,
    dedupKey: row.dedup_key,
    idempotencyKey: row.idempotency_key,
    meta: row.meta,
    webhook: row.webhook,
    upstream: row.upstream_job ? { job: row.upstream_job, output: row.upstream_output! } : null,
    cancelRequested: row.cancel_requested,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    startedAt: iso(row.started_at),
    finishedAt: iso(row.finished_at),
  };
}

/** Jobs with their outputs, fetched in one query for the whole batch (list pages, retention). */
export async function loadJobs(db: Kysely<Schema>, rows: JobRow[]): Promise<Job[]> {
  if (rows.length === 0) return [];
  const outs = await db
    .selectFrom('job_outputs')
    .select(['job_id', 'name', 'size', 'mime', 'sha256'])
    .where('job_id', 'in', rows.map((r) => r.id))
    .orderBy('created_at')
    .orderBy('name')
    .execute();
  const byJob = new Map<string, JobOutput[]>();
  for (const o of outs) {
    let list = byJob.get(o.job_id);
    if (!list) byJob.set(o.job_id, (list = []));
    list.push({ name: o.name, size: Number(o.size), mime: o.mime, sha256: o.sha256 });
  }
  return rows.map((r) => rowToJob(r, byJob.get(r.id) ?? []));
}

export async function loadJob(db: Kysely<Schema>, row: JobRow | undefined): Promise<Job | null> {
  return row ? (await loadJobs(db, [row]))[0]! : null;
}

/**
 * A jsonb value. Bound as text and cast on the server: postgres.js JSON-encodes a parameter the
 * server describes as jsonb, so a pre-encoded string would be stored as a JSON string, and a raw
 * value would depend on the driver's type inference. `undefined` and `null` become SQL NULL.
 */
export function jsonb<T>(v: T): RawBuilder<T> {
  return v === undefined || v === null ? sql<T>`NULL` : sql<T>`${JSON.stringify(v)}::text::jsonb`;
}
