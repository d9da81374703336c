import type { Statement } from 'better-sqlite3';
import type { Job, JobError, JobEvent, JobOutput } from '../../core/job.types.js';
import type { FinishOutcome, LeaseOptions, Queue } from '../../core/ports/job-store.port.js';
import { GroupCommit } from './group-commit.js';
import { rowToJob, type Db, type JobRow } from './sqlite.db.js';

const CRASHED: JobError = { code: 'WORKER_CRASHED', message: 'The worker running the job stopped unexpectedly (killed or crashed) too many times' };

/**
 * The embedded queue: the `jobs` table itself, leased in IMMEDIATE transactions so that workers in
 * several processes never take the same job, and per-processor concurrency holds across all of them.
 */
export class SqliteQueue implements Queue {
  private readonly s: Record<string, Statement>;
  private readonly group: GroupCommit;

  constructor(private readonly db: Db) {
    this.group = new GroupCommit(db);
    this.s = {
      running: db.prepare(`SELECT processor, count(*) AS n FROM jobs WHERE status = 'running' GROUP BY processor`),
      take: db.prepare(`UPDATE jobs SET status = 'running', lease_owner = @owner, lease_expires_at = @expires,
        attempts = attempts + 1, started_at = coalesce(started_at, @now), updated_at = @now, progress = 0, stage = NULL
        WHERE id = @id AND status = 'queued' RETURNING *`),
      heartbeat: db.prepare(`UPDATE jobs SET lease_expires_at = @expires WHERE id = @id AND lease_owner = @owner AND status = 'running' RETURNING cancel_requested`),
      finish: db.prepare(`UPDATE jobs SET status = @status, result = @result, error = @error, progress = @progress,
        lease_owner = NULL, lease_expires_at = NULL, finished_at = @now, updated_at = @now
        WHERE id = @id AND lease_owner = @owner AND status = 'running' RETURNING *`),
      requeue: db.prepare(`UPDATE jobs SET status = 'queued', run_at = @runAt, error = @error, lease_owner = NULL,
        lease_expires_at = NULL, updated_at = @now WHERE id = @id AND lease_owner = @owner AND status = 'running' RETURNING *`),
      expired: db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_expires_at < ?`),
      ofWorker: db.prepare(`SELECT * FROM jobs WHERE status = 'running' AND lease_owner = ?`),
      outputs: db.prepare('SELECT name, size, mime, sha256 FROM job_outputs WHERE job_id = ? ORDER BY created_at, name'),
      event: db.prepare('INSERT INTO events (job_id, data, created_at) VALUES (?, ?, ?)'),
      depth: db.prepare(`SELECT processor, count(*) AS n FROM jobs WHERE status = 'queued' GROUP BY processor`),
    };
  }

  private job(row: JobRow): Job {
    return rowToJob(row, this.s.outputs!.all(row.id) as JobOutput[]);
  }

  private emit(jobId: string, ev: JobEvent, now: number) {
    this.s.event!.run(jobId, JSON.stringify(ev), now);
  }

  async lease(opts: LeaseOptions): Promise<Job[]> {
    const names = Object.keys(opts.limits);
    if (names.length === 0 || opts.max <= 0) return [];
    return this.db.transaction(() => {
      const now = Date.now();
      const running = new Map((this.s.running!.all() as Array<{ processor: string; n: number }>).map((r) => [r.processor, r.n]));
      const free = names.filter((p) => (running.get(p) ?? 0) < opts.limits[p]!);
      if (free.length === 0) return [];
      const candidates = this.db
        .prepare(`SELECT id, processor FROM jobs WHERE status = 'queued' AND run_at <= ? AND processor IN (${free.map(() => '?').join(',')})
          ORDER BY priority DESC, seq LIMIT ?`)
        .all(now, ...free, opts.max * 4) as Array<{ id: string; processor: string }>;
      const taken: Job[] = [];
      for (const c of candidates) {
        if (taken.length >= opts.max) break;
        const n = running.get(c.processor) ?? 0;
        if (n >= opts.limits[c.processor]!) continue;
        const row = this.s.take!.get({ id: c.id, owner: opts.workerId, expires: now + opts.leaseMs, now }) as JobRow | undefined;
        if (!row) continue;
        running.set(c.processor, n + 1);
        this.emit(row.id, { type: 'status', jobId: row.id, status: 'running', attempts: row.attempts }, now);
        taken.push(this.job(row));
      }
      return taken;
    }).immediate();
  }

  async heartbeat(workerId: string, jobIds: string[], leaseMs: number): Promise<string[]> {
    if (jobIds.length === 0) return [];
    return this.db.transaction(() => {
      const expires = Date.now() + leaseMs;
      const cancel: string[] = [];
      for (const id of jobIds) {
        const r = this.s.heartbeat!.get({ id, owner: workerId, expires }) as { cancel_requested: number } | undefined;
        if (r?.cancel_requested) cancel.push(id);
      }
      return cancel;
    }).immediate();
  }

  private end(jobId: string, workerId: string, status: 'succeeded' | 'failed' | 'canceled', result: unknown, error: JobError | null): FinishOutcome {
    return this.db.transaction((): FinishOutcome => {
      const now = Date.now();
      const row = this.s.finish!.get({
        id: jobId, owner: workerId, status, now,
        result: result === undefined || result === null ? null : JSON.stringify(result),
        error: error ? JSON.stringify(error) : null,
        progress: status === 'succeeded' ? 1 : 0,
      }) as JobRow | undefined;
      if (!row) return { applied: false, job: null };
      this.emit(jobId, { type: 'status', jobId, status, attempts: row.attempts, error }, now);
      this.emit(jobId, { type: 'done', jobId, status, error }, now);
      return { applied: true, job: this.job(row) };
    }).immediate();
  }

  async complete(jobId: string, workerId: string, result: unknown): Promise<FinishOutcome> {
    return this.group.run(() => this.end(jobId, workerId, 'succeeded', result, null));
  }

  async canceled(jobId: string, workerId: string): Promise<FinishOutcome> {
    return this.group.run(() => this.end(jobId, workerId, 'canceled', null, { code: 'JOB_CANCELED', message: 'The job was canceled' }));
  }

  async fail(jobId: string, workerId: string, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome> {
    return this.group.run((): FinishOutcome => {
      const cur = this.db.prepare('SELECT attempts, max_attempts, cancel_requested FROM jobs WHERE id = ? AND lease_owner = ?').get(jobId, workerId) as
        | { attempts: number; max_attempts: number; cancel_requested: number }
        | undefined;
      if (!cur) return { applied: false, job: null };
      if (retry && !cur.cancel_requested && cur.attempts < cur.max_attempts) {
        const now = Date.now();
        const delay = backoffMs * 2 ** (cur.attempts - 1);
        const row = this.s.requeue!.get({ id: jobId, owner: workerId, runAt: now + delay, error: JSON.stringify(error), now }) as JobRow;
        this.emit(jobId, { type: 'status', jobId, status: 'queued', attempts: row.attempts, error }, now);
        return { applied: true, job: this.job(row) };
      }
      return this.end(jobId, workerId, 'failed', null, error);
    });
  }

  /** Requeues (with backoff) or fails jobs whose lease holder is gone. */
  private recover(rows: JobRow[], crashed = true): Job[] {
    const out: Job[] = [];
    for (const row of rows) {
      if (!crashed && !row.cancel_requested) {
        // A clean shutdown hands the job back without spending an attempt.
        const now = Date.now();
        const j = this.db.prepare(`UPDATE jobs SET status = 'queued', attempts = max(attempts - 1, 0), run_at = @now, lease_owner = NULL,
          lease_expires_at = NULL, updated_at = @now WHERE id = @id AND status = 'running' RETURNING *`).get({ id: row.id, now }) as JobRow | undefined;
        if (j) {
          this.emit(row.id, { type: 'status', jobId: row.id, status: 'queued', attempts: j.attempts }, now);
          out.push(this.job(j));
        }
        continue;
      }
      const owner = row as JobRow & { lease_owner: string };
      const backoff = 200 * 2 ** Math.max(0, row.attempts - 1);
      const r = row.attempts >= row.max_attempts || row.cancel_requested
        ? this.end(row.id, owner.lease_owner, row.cancel_requested ? 'canceled' : 'failed', null,
          row.cancel_requested ? { code: 'JOB_CANCELED', message: 'The job was canceled' } : CRASHED)
        : (() => {
            const now = Date.now();
            const j = this.s.requeue!.get({ id: row.id, owner: owner.lease_owner, runAt: now + backoff, error: JSON.stringify({ code: 'WORKER_CRASHED', message: 'The worker stopped; the job was put back in the queue' }), now }) as JobRow | undefined;
            if (j) this.emit(row.id, { type: 'status', jobId: row.id, status: 'queued', attempts: j.attempts }, now);
            return { applied: !!j, job: j ? this.job(j) : null };
          })();
      if (r.job) out.push(r.job);
    }
    return out;
  }

  async requeueExpired(): Promise<Job[]> {
    return this.db.transaction(() => this.recover(this.s.expired!.all(Date.now()) as JobRow[])).immediate();
  }

  async releaseWorker(workerId: string, opts: { crashed?: boolean } = {}): Promise<Job[]> {
    return this.db.transaction(() => this.recover(this.s.ofWorker!.all(workerId) as JobRow[], opts.crashed ?? true)).immediate();
  }

  async depth(): Promise<Record<string, number>> {
    return Object.fromEntries((this.s.depth!.all() as Array<{ processor: string; n: number }>).map((r) => [r.processor, r.n]));
  }
}
