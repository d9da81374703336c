import type { Job, JobEvent, JobListFilter, JobOutput, JobPage, JobStatus, NewJob, JobError } from '../job.types.js';

export type CreateOutcome =
  | { created: true; job: Job }
  /** An active or succeeded job with the same dedup key exists: it is returned instead. */
  | { created: false; job: Job; reason: 'dedup' }
  /** The Idempotency-Key was seen before with the same request. */
  | { created: false; job: Job; reason: 'idempotency' }
  /** The Idempotency-Key was seen before with a different request. */
  | { created: false; job: Job; reason: 'idempotency-conflict' };

export interface StoredEvent {
  id: number;
  event: JobEvent;
}

/**
 * Job records. Implementations: SQLite (embedded, src/store/sqlite) and, for the distributed
 * mode, PostgreSQL. Every method is atomic on its own; `create` decides dedup and idempotency in
 * one transaction so that concurrent identical submits make one job.
 */
export interface JobStore {
  create(job: NewJob): Promise<CreateOutcome>;
  get(id: string): Promise<Job | null>;
  list(filter: JobListFilter): Promise<JobPage>;
  /** Queued jobs are canceled at once; running ones get `cancelRequested` and end when the worker stops. */
  requestCancel(id: string): Promise<Job | null>;
  /** Puts a failed or canceled job back in the queue with its attempts reset. */
  retry(id: string): Promise<Job | null>;
  /** Removes the record; returns it so the caller can release its blobs. */
  delete(id: string): Promise<Job | null>;
  setProgress(id: string, progress: number, stage: string | null): Promise<void>;
  /** Adds or replaces a named output. */
  putOutput(id: string, output: JobOutput): Promise<void>;
  /** Jobs that ended before `before`, oldest first (retention). */
  listEndedBefore(before: Date, limit: number): Promise<Job[]>;
  /** True while any job has this blob as input or output. */
  isBlobReferenced(sha256: string): Promise<boolean>;
  countByStatus(): Promise<Array<{ processor: string; status: JobStatus; count: number }>>;
  appendEvent(event: JobEvent): Promise<void>;
  readEvents(afterId: number, limit: number): Promise<StoredEvent[]>;
  lastEventId(): Promise<number>;
  pruneEvents(olderThan: Date): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface LeaseOptions {
  workerId: string;
  /** Processors this worker can run, with their global concurrency limits. */
  limits: Record<string, number>;
  /** Most jobs to lease in this call. */
  max: number;
  leaseMs: number;
}

export interface FinishOutcome {
  /** False when the lease was lost (another worker owns the job now): the result was discarded. */
  applied: boolean;
  job: Job | null;
}

/**
 * The queue: who runs what, when. Leases with heartbeats give at-least-once execution; a lease
 * that expires puts the job back (or fails it when its attempts are used up).
 */
export interface Queue {
  lease(opts: LeaseOptions): Promise<Job[]>;
  /** Renews the leases; returns the ids among them whose cancel was requested. */
  heartbeat(workerId: string, jobIds: string[], leaseMs: number): Promise<string[]>;
  complete(jobId: string, workerId: string, result: unknown): Promise<FinishOutcome>;
  /** Ends an attempt in error: retried after `backoffMs` when `retry` and attempts remain, else failed. */
  fail(jobId: string, workerId: string, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome>;
  /** Ends a canceled attempt. */
  canceled(jobId: string, workerId: string): Promise<FinishOutcome>;
  /** Expired leases → queued again (or failed with WORKER_CRASHED once attempts are used up). */
  requeueExpired(): Promise<Job[]>;
  /**
   * A worker is gone: give its jobs back now. `crashed` (default) spends the attempt (a job that
   * keeps killing workers ends failed); a clean shutdown (`crashed: false`) does not.
   */
  releaseWorker(workerId: string, opts?: { crashed?: boolean }): Promise<Job[]>;
  depth(): Promise<Record<string, number>>;
}
