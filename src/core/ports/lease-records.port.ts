import type { Job, JobError, JobOutput } from '../job.types.js';
import type { FinishOutcome, HeartbeatAnswer, Lease, LeasedJob } from './queue.port.js';

export interface ClaimOutcome {
  leased: LeasedJob[];
  /** Delivered jobs still queued but not taken, with when they are due (ms since the epoch). */
  unclaimed: Array<{ id: string; runAt: number }>;
}

/**
 * The record side of a queue whose delivery lives elsewhere (BullMQ delivers job ids; PostgreSQL
 * holds the lease, the attempts and every write made under the lease). A `Queue` adapter that
 * only delivers composes itself with one of these; the embedded SQLite queue keeps both in one table.
 *
 * Every method is one guarded transaction: a write whose lease token is not the job's current one
 * changes nothing and answers false / `applied: false`.
 */
export interface LeaseRecords {
  /**
   * queued → running under a new lease each (attempts + 1): of `jobIds` (delivered jobs of
   * `processor`), those still queued and runnable now, highest priority first, as many as keep the
   * processor under `limit` running jobs across all workers — in one transaction. `unclaimed`
   * names the delivered jobs that are still queued but were not taken (over the limit, or not yet
   * due, with the time they are due): the queue must keep offering those. The others are gone from
   * the queue's point of view (canceled, deleted, already running elsewhere).
   */
  claim(jobIds: string[], processor: string, workerId: string, leaseMs: number, limit: number): Promise<ClaimOutcome>;
  /**
   * Gives a lease back unused: running → queued, runnable now, its attempt not spent (a `solo` job
   * claimed by a worker that is not idle: the claim cannot know the worker's load). False when lost.
   */
  release(lease: Lease): Promise<boolean>;
  renew(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer>;
  progress(lease: Lease, progress: number, stage: string | null): Promise<boolean>;
  output(lease: Lease, output: JobOutput): Promise<boolean>;
  log(lease: Lease, level: string, message: string): Promise<boolean>;
  complete(lease: Lease, result: unknown): Promise<FinishOutcome>;
  /** With attempts left and `retry`: queued again with `run_at` = now + backoff; `retryAt` says when. */
  fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome>;
  canceled(lease: Lease): Promise<FinishOutcome>;
  /** Expired leases → queued again (returned, with `retryAt`) or failed WORKER_CRASHED when out of attempts. */
  requeueExpired(): Promise<Array<{ job: Job; retryAt: number | null }>>;
  /** As `Queue.releaseWorker`: crash blame by `solo`; a clean shutdown spends no attempt. */
  releaseWorker(workerId: string, crashed: boolean): Promise<Array<{ job: Job; retryAt: number | null }>>;
  /** Running jobs per processor, across all workers. */
  running(): Promise<Record<string, number>>;
  /** Queued jobs per processor. */
  queued(): Promise<Record<string, number>>;
}
