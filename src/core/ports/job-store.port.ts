import type { Job, JobListFilter, JobOutput, JobPage, JobStatus, NewJob } from '../job.types.js';

export type CreateOutcome =
  | { created: true; job: Job }
  /** An active or succeeded job with the same dedup key exists: it is returned instead. */
  | { created: false; job: Job; reason: 'dedup' }
  /** The Idempotency-Key was seen before with the same request. */
  | { created: false; job: Job; reason: 'idempotency' }
  /** The Idempotency-Key was seen before with a different request. */
  | { created: false; job: Job; reason: 'idempotency-conflict' };

export type CancelOutcome =
  /** The job was queued: it is canceled now (its queue entry must be removed). */
  | { job: Job; canceled: 'now' }
  /** The job is running: the flag is set; the worker holding it must be signalled. */
  | { job: Job; canceled: 'requested' }
  | { job: Job; canceled: 'no' };

/**
 * Job records (the API's side): create, read, cancel, retry, delete and retention. A worker's
 * writes go through the `Queue`, under its lease. Every state change writes its event in the same
 * transaction (see `EventLog`).
 * Adapters: SQLite (src/adapters/sqlite), PostgreSQL (src/adapters/postgres).
 */
export interface JobStore {
  /** Decides dedup and idempotency atomically: concurrent identical submits make one job. */
  create(job: NewJob): Promise<CreateOutcome>;
  get(id: string): Promise<Job | null>;
  /** Several jobs at once (those that exist), in one round trip. */
  getMany(ids: string[]): Promise<Job[]>;
  list(filter: JobListFilter): Promise<JobPage>;
  /** Queued → canceled at once; running → `cancelRequested` (the worker ends it). */
  requestCancel(id: string): Promise<CancelOutcome | null>;
  /**
   * A failed or canceled job → queued again, attempts reset. Its outputs are dropped from the
   * record (their blobs become unreferenced and the sweeper collects them). Null when not retryable.
   */
  retry(id: string): Promise<{ job: Job; dropped: JobOutput[] } | null>;
  /** Removes an ended job's record (null when absent or not ended: cancel it and wait first). */
  delete(id: string): Promise<Job | null>;
  /** Jobs that ended before `before`, oldest first (retention). */
  listEndedBefore(before: Date, limit: number): Promise<Job[]>;
  /** Queued jobs created before `before`, oldest first, after the id cursor (the reconciler). */
  listQueued(before: Date, afterSeq: number, limit: number): Promise<Array<{ seq: number; job: Job }>>;
  /** The subset of `sha256s` that some job references as input or output. */
  referencedBlobs(sha256s: string[]): Promise<Set<string>>;
  countByStatus(): Promise<Array<{ processor: string; status: JobStatus; count: number }>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
