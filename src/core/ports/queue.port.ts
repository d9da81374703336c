import type { Job, JobError, JobOutput } from '../job.types.js';
import type { Unsubscribe } from './event-log.port.js';

/** Proof of holding a job: every write a worker makes is refused once another lease replaced it. */
export interface Lease {
  jobId: string;
  workerId: string;
  /** New for every attempt: a worker paused past its lease cannot write into the next attempt. */
  token: string;
}

export interface LeasedJob {
  job: Job;
  lease: Lease;
  /** Run this job alone: lease nothing else until it ends (it was beside a crash). */
  solo: boolean;
}

export interface LeaseOptions {
  workerId: string;
  /** Processors this worker can run, with their global concurrency limits (across all workers). */
  limits: Record<string, number>;
  /** Most jobs to lease in this call. */
  max: number;
  /** Jobs the worker runs now: a `solo` job is only leased by an idle worker, alone. */
  busy: number;
  leaseMs: number;
}

export interface FinishOutcome {
  /** False when the lease was lost (another worker owns the job now): nothing was written. */
  applied: boolean;
  job: Job | null;
  /** After `fail` with attempts left: queued again, runnable from this time (ms since the epoch). */
  retryAt?: number;
  /** Chained jobs this ending released (now queued, to be enqueued where the queue is elsewhere). */
  released?: Job[];
}

export interface HeartbeatAnswer {
  /** Leases renewed whose job was asked to cancel. */
  cancel: string[];
  /** Leases this worker no longer holds: stop the job and write nothing more. */
  lost: string[];
}

export interface EnqueueOptions {
  priority?: number;
  delayMs?: number;
}

/**
 * Who runs what, when. A job is enqueued explicitly after its record is created; workers lease it
 * under a worker id and a lease token, renew the lease with heartbeats, and write progress, logs,
 * outputs and the ending under that lease. A lease that expires puts the job back (or fails it when
 * its attempts are used up): execution is at-least-once, writes are at-most-once per attempt.
 * Adapters: SQLite (embedded: the jobs table is the queue), BullMQ on Redis with the lease records
 * in PostgreSQL (distributed).
 */
export interface Queue {
  /** Makes a queued job runnable (idempotent). */
  enqueue(job: Pick<Job, 'id' | 'processor' | 'priority'>, opts?: EnqueueOptions): Promise<void>;
  /** Takes a job out of the queue (canceled or deleted before it ran); idempotent. */
  remove(jobId: string, processor: string): Promise<void>;
  /** Of these queued jobs, those the queue does not hold (the reconciler enqueues them again). */
  missing(jobs: Array<Pick<Job, 'id' | 'processor'>>): Promise<string[]>;
  lease(opts: LeaseOptions): Promise<LeasedJob[]>;
  heartbeat(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer>;
  /** Guarded writes: false (and nothing written) when the lease is lost. */
  progress(lease: Lease, progress: number, stage: string | null): Promise<boolean>;
  output(lease: Lease, output: JobOutput): Promise<boolean>;
  log(lease: Lease, level: string, message: string): Promise<boolean>;
  complete(lease: Lease, result: unknown): Promise<FinishOutcome>;
  /** Ends an attempt in error: retried after `backoffMs × 2^(attempt-1)` when `retry` and attempts remain, else failed. */
  fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome>;
  canceled(lease: Lease): Promise<FinishOutcome>;
  /** Expired leases → queued again (or failed with WORKER_CRASHED once attempts are used up). */
  requeueExpired(): Promise<Job[]>;
  /**
   * A worker is gone: give its jobs back now. A clean shutdown (`crashed: false`) spends no
   * attempt. After a crash, a job that ran alone is charged the attempt (it is the culprit); jobs
   * that ran beside others are not charged but marked `solo`: each runs again alone in a worker,
   * so that the next crash names its culprit and innocent neighbours succeed.
   */
  releaseWorker(workerId: string, opts?: { crashed?: boolean }): Promise<Job[]>;
  /** Tells the worker holding the job to stop (wherever it runs). */
  signalCancel(jobId: string): Promise<void>;
  /** Cancel signals for jobs leased by this process's workers. */
  onCancel(listener: (jobId: string) => void): Unsubscribe;
  /**
   * Optional: new work was enqueued (by any process), so idle workers look at once rather than at
   * their next poll. Adapters whose workers are woken otherwise (embedded: over IPC) leave it out.
   */
  onWork?(listener: (processor: string) => void): Unsubscribe;
  /** Queued jobs per processor. */
  depth(): Promise<Record<string, number>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
