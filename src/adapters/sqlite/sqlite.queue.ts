import { randomUUID } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import type { Job, JobError, JobEvent, JobOutput } from '../../core/job.types.js';
import type { Unsubscribe } from '../../core/ports/event-log.port.js';
import type { EnqueueOptions, FinishOutcome, HeartbeatAnswer, Lease, LeasedJob, LeaseOptions, Queue } from '../../core/ports/queue.port.js';
import { settleDependents } from './sqlite.chains.js';
import { rowToJob, type Db, type JobRow, type SqliteHandle } from './sqlite.db.js';

const CRASHED: JobError = { code: 'WORKER_CRASHED', message: 'The worker running the job stopped unexpectedly (killed or crashed) too many times' };
const CANCELED: JobError = { code: 'JOB_CANCELED', message: 'The job was canceled' };
const PUT_BACK: JobError = { code: 'WORKER_CRASHED', message: 'The worker stopped; the job was put back in the queue' };

/**
 * The embedded queue: the `jobs` table itself, leased in IMMEDIATE transactions so that workers in
 * several processes never take the same job, and per-processor concurrency holds across all of them.
 * Every write under a lease checks the lease token in the same statement or transaction.
 */
export class SqliteQueue implements Queue {
  private readonly s: Record<string, Statement>;
  private readonly db: Db;
  private readonly cancelListeners = new Set<(jobId: string) => void>();

  constructor(private readonly h: SqliteHandle) {
    const db = (this.db = h.db);
    this.s = {
      enqueue: db.prepare(`UPDATE jobs SET enqueued = 1, run_at = @runAt, priority = coalesce(@priority, priority)
        WHERE id = @id AND status = 'queued'`),
      unqueue: db.prepare(`UPDATE jobs SET enqueued = 0 WHERE id = ? AND status = 'queued'`),
      running: db.prepare(`SELECT processor, count(*) AS n FROM jobs WHERE status = 'running' GROUP BY processor`),
      take: db.prepare(`UPDATE jobs SET status = 'running', lease_owner = @owner, lease_token = @token, lease_expires_at = @expires,
        attempts = attempts + 1, started_at = coalesce(started_at, @now), updated_at = @now, progress = 0, stage = NULL
        WHERE id = @id AND status = 'queued' AND enqueued = 1 RETURNING *`),
      holds: db.prepare(`SELECT 1 FROM jobs WHERE id = ? AND lease_token = ? AND status = 'running'`),
      heartbeat: db.prepare(`UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND lease_token = @token AND status = 'running' RETURNING cancel_requested`),
      progress: db.prepare(`UPDATE jobs SET progress = ?, stage = ?, updated_at = ? WHERE id = ? AND lease_token = ? AND status = 'running'`),
      putOutput: db.prepare(`INSERT INTO job_outputs (job_id, name, size, mime, sha256, created_at) VALUES (@jobId, @name, @size, @mime, @sha256, @now)
        ON CONFLICT(job_id, name) DO UPDATE SET size = excluded.size, mime = excluded.mime, sha256 = excluded.sha256`),
      finish: db.prepare(`UPDATE jobs SET status = @status, result = @result, error = @error, progress = @progress,
        lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now
        WHERE id = @id AND lease_token = @token AND status = 'running' RETURNING *`),
      requeue: db.prepare(`UPDATE jobs SET status = 'queued', enqueued = 1, run_at = @runAt, error = @error, lease_owner = NULL,
        lease_token = NULL, lease_expires_at = NULL, attempts = attempts - @refund, solo = max(solo, @solo), updated_at = @now
        WHERE id = @id AND lease_token = @token AND status = 'running' RETURNING *`),
      attempts: db.prepare('SELECT attempts, max_attempts, cancel_requested FROM jobs WHERE id = ? AND lease_token = ? AND status = \'running\''),
      expired: db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_expires_at < ?`),
      ofWorker: db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_owner = ?`),
      runningOf: db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'running' AND lease_owner = ?`),
      outputs: db.prepare('SELECT name, size, mime, sha256 FROM job_outputs WHERE job_id = ? ORDER BY created_at, name'),
      event: db.prepare('INSERT INTO events (job_id, data, created_at) VALUES (?, ?, ?)'),
      depth: db.prepare(`SELECT processor, count(*) AS n FROM jobs WHERE status = 'queued' AND enqueued = 1 GROUP BY processor`),
    };
  }

  private job(row: JobRow): Job {
    return rowToJob(row, this.s.outputs!.all(row.id) as JobOutput[]);
  }

  private emit(ev: JobEvent, now: number) {
    this.s.event!.run(ev.jobId, JSON.stringify(ev), now);
  }

  async enqueue(job: Pick<Job, 'id' | 'processor' | 'priority'>, opts: EnqueueOptions = {}): Promise<void> {
    await this.h.group.run(() => this.s.enqueue!.run({ id: job.id, runAt: Date.now() + (opts.delayMs ?? 0), priority: opts.priority ?? null }));
  }

  async remove(jobId: string): Promise<void> {
    this.h.tx(() => this.s.unqueue!.run(jobId));
  }

  async missing(jobs: Array<Pick<Job, 'id' | 'processor'>>): Promise<string[]> {
    if (jobs.length === 0) return [];
    const rows = this.db.prepare(`SELECT id FROM jobs WHERE status = 'queued' AND enqueued = 0 AND id IN (${jobs.map(() => '?').join(',')})`)
      .all(...jobs.map((j) => j.id)) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  async lease(opts: LeaseOptions): Promise<LeasedJob[]> {
    const names = Object.keys(opts.limits);
    if (names.length === 0 || opts.max <= 0) return [];
    return this.h.tx(() => {
      const now = Date.now();
      const running = new Map((this.s.running!.all() as Array<{ processor: string; n: number }>).map((r) => [r.processor, r.n]));
      const free = names.filter((p) => (running.get(p) ?? 0) < opts.limits[p]!);
      if (free.length === 0) return [];
      // A busy worker never takes a solo job: a solo job runs alone, so that a crash names it.
      const candidates = this.db
        .prepare(`SELECT id, processor, solo FROM jobs WHERE status = 'queued' AND enqueued = 1 AND run_at <= ?
          AND processor IN (${free.map(() => '?').join(',')}) ${opts.busy > 0 ? 'AND solo = 0' : ''}
          ORDER BY priority DESC, seq LIMIT ?`)
        .all(now, ...free, opts.max * 4) as Array<{ id: string; processor: string; solo: number }>;
      const taken: LeasedJob[] = [];
      for (const c of candidates) {
        if (taken.length >= opts.max) break;
        if (c.solo && taken.length > 0) continue;
        const n = running.get(c.processor) ?? 0;
        if (n >= opts.limits[c.processor]!) continue;
        const token = randomUUID();
        const row = this.s.take!.get({ id: c.id, owner: opts.workerId, token, expires: now + opts.leaseMs, now }) as JobRow | undefined;
        if (!row) continue;
        running.set(c.processor, n + 1);
        this.emit({ type: 'status', jobId: row.id, status: 'running', attempts: row.attempts }, now);
        taken.push({ job: this.job(row), lease: { jobId: row.id, workerId: opts.workerId, token }, solo: row.solo === 1 });
        if (row.solo) break;
      }
      return taken;
    });
  }

  async heartbeat(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer> {
    const answer: HeartbeatAnswer = { cancel: [], lost: [] };
    if (leases.length === 0) return answer;
    return this.h.tx(() => {
      const expires = Date.now() + leaseMs;
      for (const l of leases) {
        const r = this.s.heartbeat!.get({ id: l.jobId, token: l.token, expires }) as { cancel_requested: number } | undefined;
        if (!r) answer.lost.push(l.jobId);
        else if (r.cancel_requested) answer.cancel.push(l.jobId);
      }
      return answer;
    });
  }

  async progress(lease: Lease, progress: number, stage: string | null): Promise<boolean> {
    const now = Date.now();
    return this.h.group.run(() => {
      if (!this.s.progress!.run(progress, stage, now, lease.jobId, lease.token).changes) return false;
      this.emit({ type: 'progress', jobId: lease.jobId, progress, stage }, now);
      return true;
    });
  }

  async output(lease: Lease, output: JobOutput): Promise<boolean> {
    const now = Date.now();
    return this.h.group.run(() => {
      if (!this.s.holds!.get(lease.jobId, lease.token)) return false;
      this.s.putOutput!.run({ jobId: lease.jobId, ...output, now });
      this.emit({ type: 'output', jobId: lease.jobId, output }, now);
      return true;
    });
  }

  async log(lease: Lease, level: string, message: string): Promise<boolean> {
    const now = Date.now();
    return this.h.group.run(() => {
      if (!this.s.holds!.get(lease.jobId, lease.token)) return false;
      this.emit({ type: 'log', jobId: lease.jobId, level, message }, now);
      return true;
    });
  }

  private end(lease: Pick<Lease, 'jobId' | 'token'>, status: 'succeeded' | 'failed' | 'canceled', result: unknown, error: JobError | null): FinishOutcome {
    const now = Date.now();
    const row = this.s.finish!.get({
      id: lease.jobId, token: lease.token, status, now,
      result: result === undefined || result === null ? null : JSON.stringify(result),
      error: error ? JSON.stringify(error) : null,
      progress: status === 'succeeded' ? 1 : 0,
    }) as JobRow | undefined;
    if (!row) return { applied: false, job: null };
    this.emit({ type: 'status', jobId: lease.jobId, status, attempts: row.attempts, error }, now);
    this.emit({ type: 'done', jobId: lease.jobId, status, error }, now);
    // Jobs waiting on this one are released (or ended) in the same transaction as its ending.
    settleDependents(this.db, lease.jobId, status, now);
    return { applied: true, job: this.job(row) };
  }

  /** Queued again, runnable at `runAt`; `refund` gives the attempt back, `solo` makes it run alone. */
  private putBack(lease: Pick<Lease, 'jobId' | 'token'>, runAt: number, error: JobError | null, refund: boolean, solo: boolean): FinishOutcome {
    const now = Date.now();
    const row = this.s.requeue!.get({ id: lease.jobId, token: lease.token, runAt, error: error ? JSON.stringify(error) : null, refund: refund ? 1 : 0, solo: solo ? 1 : 0, now }) as JobRow | undefined;
    if (!row) return { applied: false, job: null };
    this.emit({ type: 'status', jobId: lease.jobId, status: 'queued', attempts: row.attempts, error }, now);
    return { applied: true, job: this.job(row), retryAt: runAt };
  }

  async complete(lease: Lease, result: unknown): Promise<FinishOutcome> {
    return this.h.group.run(() => this.end(lease, 'succeeded', result, null));
  }

  async canceled(lease: Lease): Promise<FinishOutcome> {
    return this.h.group.run(() => this.end(lease, 'canceled', null, CANCELED));
  }

  async fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome> {
    return this.h.group.run((): FinishOutcome => {
      const cur = this.s.attempts!.get(lease.jobId, lease.token) as { attempts: number; max_attempts: number; cancel_requested: number } | undefined;
      if (!cur) return { applied: false, job: null };
      if (retry && !cur.cancel_requested && cur.attempts < cur.max_attempts) {
        return this.putBack(lease, Date.now() + backoffMs * 2 ** (cur.attempts - 1), error, false, false);
      }
      return this.end(lease, 'failed', null, error);
    });
  }

  /**
   * Jobs whose worker is gone. A job alone in its worker is charged the attempt (it is the likely
   * culprit; out of attempts it fails WORKER_CRASHED); jobs that shared the worker are put back
   * without charge and marked solo, so each runs alone next time and a further crash names it.
   */
  private recover(rows: JobRow[], crashed: boolean): Job[] {
    const out: Job[] = [];
    const byOwner = new Map<string, JobRow[]>();
    for (const r of rows) {
      const owner = (r as JobRow & { lease_owner: string }).lease_owner;
      byOwner.set(owner, [...(byOwner.get(owner) ?? []), r]);
    }
    const now = Date.now();
    for (const group of byOwner.values()) {
      for (const row of group) {
        const lease = { jobId: row.id, token: row.lease_token! };
        let r: FinishOutcome;
        if (row.cancel_requested) r = this.end(lease, 'canceled', null, CANCELED);
        else if (!crashed) r = this.putBack(lease, now, null, true, false);
        else if (group.length > 1 && !row.solo) r = this.putBack(lease, now, PUT_BACK, true, true);
        else if (row.attempts >= row.max_attempts) r = this.end(lease, 'failed', null, CRASHED);
        else r = this.putBack(lease, now + 200 * 2 ** Math.max(0, row.attempts - 1), PUT_BACK, false, false);
        if (r.job) out.push(r.job);
      }
    }
    return out;
  }

  async requeueExpired(): Promise<Job[]> {
    return this.h.tx(() => this.recover(this.s.expired!.all(Date.now()) as JobRow[], true));
  }

  async releaseWorker(workerId: string, opts: { crashed?: boolean } = {}): Promise<Job[]> {
    return this.h.tx(() => this.recover(this.s.ofWorker!.all(workerId) as JobRow[], opts.crashed ?? true));
  }

  /**
   * In-process listeners hear at once (`serve` forwards to its worker processes over IPC); a worker
   * in another process hears through its next heartbeat, which answers `cancel`.
   */
  async signalCancel(jobId: string): Promise<void> {
    for (const l of this.cancelListeners) l(jobId);
  }

  onCancel(listener: (jobId: string) => void): Unsubscribe {
    this.cancelListeners.add(listener);
    return () => this.cancelListeners.delete(listener);
  }

  async depth(): Promise<Record<string, number>> {
    return Object.fromEntries((this.s.depth!.all() as Array<{ processor: string; n: number }>).map((r) => [r.processor, r.n]));
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.cancelListeners.clear();
  }
}
