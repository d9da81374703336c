import { Batcher } from './postgres.batcher.js';
import { settleDependents } from './postgres.chains.js';
import { completeBatch } from './postgres.complete-batch.js';
import { sql, type Transaction } from 'kysely';
import type { Job, JobError, JobEvent, JobOutput } from '../../core/job.types.js';
import type { ClaimOutcome, LeaseRecords } from '../../core/ports/lease-records.port.js';
import type { FinishOutcome, HeartbeatAnswer, Lease, LeasedJob } from '../../core/ports/queue.port.js';
import { LOCK, type PgDb } from './postgres.db.js';
import { writeEvents } from './postgres.events.js';
import { lockKey } from './postgres.job-store.js';
import { jsonb, loadJob, loadJobs, type JobRow, type Schema } from './postgres.rows.js';

const CANCELED: JobError = { code: 'JOB_CANCELED', message: 'The job was canceled' };
const CRASHED: JobError = { code: 'WORKER_CRASHED', message: 'The worker running the job stopped unexpectedly (killed or crashed) too many times' };
const PUT_BACK: JobError = { code: 'WORKER_CRASHED', message: 'The worker stopped; the job was put back in the queue' };

/** A lease's length or a delay as an interval (bound as a number, so never spliced into SQL text). */
const ms = (n: number) => sql`(${Math.max(0, Math.round(n))}::bigint * interval '1 millisecond')`;

/** Clears the lease: every write guarded by the old token is refused from now on. */
const NO_LEASE = { lease_owner: null, lease_token: null, lease_expires_at: null } as const;

/** How a job whose worker is gone goes back (see `recover`). */
type Recovery = 'charge' | 'spare' | 'hand-back';

export interface PgLeaseRecordsOptions {
  /** Base delay before a crashed job runs again, doubled per attempt spent (as a failure's backoff). */
  crashBackoffMs?: number;
}

/**
 * Leases kept in the `jobs` rows for a queue that only delivers ids (BullMQ). Lease times use the
 * database's clock (`clock_timestamp()`), the one clock all worker machines share. Each write is one
 * transaction that locks the job row only if the caller's lease token is still the current one,
 * then writes its event last (postgres.events.ts).
 */
export class PgLeaseRecords implements LeaseRecords {
  private readonly crashBackoffMs: number;
  private closed = false;
  private readonly completions = new Batcher<{ lease: Lease; result: unknown }, FinishOutcome>(
    ({ lease, result }) => this.pg.run((db) => db.transaction().execute((trx) => this.end(trx, lease, 'succeeded', result, null))),
    (items) => this.pg.run((db) => db.transaction().execute((trx) => completeBatch(trx, items))),
  );

  constructor(private readonly pg: PgDb, opts: PgLeaseRecordsOptions = {}) {
    pg.retain();
    this.crashBackoffMs = opts.crashBackoffMs ?? 200;
  }

  async claim(jobIds: string[], processor: string, workerId: string, leaseMs: number, limit: number): Promise<ClaimOutcome> {
    if (jobIds.length === 0) return { leased: [], unclaimed: [] };
    return this.pg.run((db) => db.transaction().execute(async (trx): Promise<ClaimOutcome> => {
      // Claims of one processor take turns, so "count the running, then take some" cannot be
      // interleaved by a claimer on another machine: the limit holds across all workers. The next
      // statement's snapshot is taken after the lock, so it sees the previous holder's commit.
      await lockKey(trx, LOCK.claim, processor);
      // One statement: the free slots, then as many of the delivered jobs as are still queued and
      // due (highest priority first), each under a new lease token.
      const { rows } = await sql<JobRow>`
        WITH free AS (
          SELECT greatest(0, ${limit}::int - count(*)) AS n FROM jobs WHERE processor = ${processor} AND status = 'running'
        ), pick AS (
          SELECT id FROM jobs
          WHERE id IN (${sql.join(jobIds)}) AND processor = ${processor} AND status = 'queued' AND run_at <= clock_timestamp()
          ORDER BY priority DESC, seq LIMIT (SELECT n FROM free) FOR UPDATE
        )
        UPDATE jobs SET status = 'running', lease_owner = ${workerId}, lease_token = gen_random_uuid()::text,
          lease_expires_at = clock_timestamp() + ${ms(leaseMs)}, attempts = attempts + 1,
          started_at = coalesce(started_at, now()), updated_at = now(), progress = 0, stage = NULL
        FROM pick WHERE jobs.id = pick.id
        RETURNING jobs.*`.execute(trx);
      const taken = new Set(rows.map((r) => r.id));
      const rest = jobIds.filter((id) => !taken.has(id));
      // Still queued but not taken (over the limit, not yet due): the queue keeps offering them.
      const unclaimed = rest.length === 0 ? [] : (await trx.selectFrom('jobs').select(['id', 'run_at'])
        .where('id', 'in', rest).where('status', '=', 'queued').execute()).map((r) => ({ id: r.id, runAt: r.run_at.getTime() }));
      if (rows.length === 0) return { leased: [], unclaimed };
      const jobs = await loadJobs(trx, rows);
      await writeEvents(trx, rows.map((r): JobEvent => ({ type: 'status', jobId: r.id, status: 'running', attempts: r.attempts })));
      const leased = rows.map((r, i) => ({ job: jobs[i]!, lease: { jobId: r.id, workerId, token: r.lease_token! }, solo: r.solo }));
      return { leased, unclaimed };
    }));
  }

  async renew(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer> {
    if (leases.length === 0) return { cancel: [], lost: [] };
    return this.pg.run(async (db) => {
      const held = await db.updateTable('jobs').set({ lease_expires_at: sql`clock_timestamp() + ${ms(leaseMs)}` })
        .where(sql<boolean>`(id, lease_token) IN (${sql.join(leases.map((l) => sql`(${l.jobId}, ${l.token})`))})`)
        .where('status', '=', 'running')
        .returning(['id', 'cancel_requested']).execute();
      const heldIds = new Set(held.map((r) => r.id));
      return {
        cancel: held.filter((r) => r.cancel_requested).map((r) => r.id),
        lost: leases.filter((l) => !heldIds.has(l.jobId)).map((l) => l.jobId),
      };
    });
  }

  async progress(lease: Lease, progress: number, stage: string | null): Promise<boolean> {
    return this.underLease(lease, async (trx) => {
      await trx.updateTable('jobs').set({ progress, stage, updated_at: sql`now()` }).where('id', '=', lease.jobId).execute();
      return [{ type: 'progress', jobId: lease.jobId, progress, stage }];
    });
  }

  async output(lease: Lease, output: JobOutput): Promise<boolean> {
    return this.underLease(lease, async (trx) => {
      const { name, size, mime, sha256 } = output;
      await trx.insertInto('job_outputs').values({ job_id: lease.jobId, name, size, mime, sha256 })
        .onConflict((oc) => oc.columns(['job_id', 'name']).doUpdateSet({ size, mime, sha256 })).execute();
      await trx.updateTable('jobs').set({ updated_at: sql`now()` }).where('id', '=', lease.jobId).execute();
      return [{ type: 'output', jobId: lease.jobId, output: { name, size, mime, sha256 } }];
    });
  }

  async log(lease: Lease, level: string, message: string): Promise<boolean> {
    return this.underLease(lease, async () => [{ type: 'log', jobId: lease.jobId, level, message }]);
  }

  /** Completions arriving while one is being written go together in the next transaction (postgres.complete-batch.ts). */
  complete(lease: Lease, result: unknown): Promise<FinishOutcome> {
    return this.completions.run({ lease, result });
  }

  async fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome> {
    return this.pg.run((db) => db.transaction().execute(async (trx): Promise<FinishOutcome> => {
      const row = await this.lockLease(trx, lease);
      if (!row) return { applied: false, job: null };
      if (!retry || row.cancel_requested || row.attempts >= row.max_attempts) return this.end(trx, lease, 'failed', null, error);
      const queued = await this.requeue(trx, row, backoffMs * 2 ** (row.attempts - 1), error);
      const job = (await loadJob(trx, queued))!;
      await writeEvents(trx, [{ type: 'status', jobId: row.id, status: 'queued', attempts: queued.attempts, error }]);
      return { applied: true, job, retryAt: queued.run_at.getTime() };
    }));
  }

  async canceled(lease: Lease): Promise<FinishOutcome> {
    return this.pg.run((db) => db.transaction().execute((trx) => this.end(trx, lease, 'canceled', null, CANCELED)));
  }

  async requeueExpired(): Promise<Array<{ job: Job; retryAt: number | null }>> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      // SKIP LOCKED: a row locked right now is being written under its lease (a renewal, a
      // completion) or recovered by another process; the next sweep sees it again if still expired.
      const rows = await trx.selectFrom('jobs').selectAll()
        .where('status', '=', 'running').where('lease_expires_at', '<', sql<Date>`clock_timestamp()`)
        .orderBy('lease_expires_at').limit(500).forUpdate().skipLocked().execute();
      // Whoever held these is silent past its lease (killed, frozen, cut off). Crash blame as in
      // releaseWorker and the embedded queue: a job alone in its worker is charged the attempt;
      // jobs that shared a worker are spared and run again alone (solo).
      const perOwner = new Map<string, number>();
      for (const r of rows) perOwner.set(r.lease_owner ?? '', (perOwner.get(r.lease_owner ?? '') ?? 0) + 1);
      return this.recoverAll(trx, rows.map((r): [JobRow, Recovery] => [r, (perOwner.get(r.lease_owner ?? '') ?? 1) > 1 && !r.solo ? 'spare' : 'charge']));
    }));
  }

  async releaseWorker(workerId: string, crashed: boolean): Promise<Array<{ job: Job; retryAt: number | null }>> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      const rows = await trx.selectFrom('jobs').selectAll()
        .where('status', '=', 'running').where('lease_owner', '=', workerId).orderBy('seq').forUpdate().execute();
      // Crash blame: a job that ran alone is the culprit and pays the attempt; jobs that ran beside
      // others are not charged but run alone next time (`solo`), so a second crash names its culprit.
      const how: Recovery = !crashed ? 'hand-back' : rows.length === 1 ? 'charge' : 'spare';
      return this.recoverAll(trx, rows.map((r) => [r, how]));
    }));
  }

  async running(): Promise<Record<string, number>> {
    return this.countWhere('running');
  }

  async queued(): Promise<Record<string, number>> {
    return this.countWhere('queued');
  }

  /** Not part of the port: releases this adapter's hold on the shared pool. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.release();
  }

  private async countWhere(status: 'running' | 'queued'): Promise<Record<string, number>> {
    return this.pg.run(async (db) => {
      const rows = await db.selectFrom('jobs').select(['processor', (eb) => eb.fn.countAll<string>().as('n')])
        .where('status', '=', status).groupBy('processor').execute();
      return Object.fromEntries(rows.map((r) => [r.processor, Number(r.n)]));
    });
  }

  /** The job row, locked, if `lease` is still its current lease; undefined when the lease was lost. */
  private async lockLease(trx: Transaction<Schema>, lease: Lease): Promise<JobRow | undefined> {
    return trx.selectFrom('jobs').selectAll()
      .where('id', '=', lease.jobId).where('lease_token', '=', lease.token).where('status', '=', 'running')
      .forUpdate().executeTakeFirst();
  }

  /** Runs `write` only while `lease` holds the job; its events are written last, in the same transaction. */
  private underLease(lease: Lease, write: (trx: Transaction<Schema>) => Promise<JobEvent[]>): Promise<boolean> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      if (!(await this.lockLease(trx, lease))) return false;
      await writeEvents(trx, await write(trx));
      return true;
    }));
  }

  /**
   * Ends the job if `lease` still holds it (the guard is the UPDATE's own condition, so one
   * statement both checks and locks); `applied: false` when the lease was lost.
   */
  private async end(trx: Transaction<Schema>, lease: Lease, status: 'succeeded' | 'failed' | 'canceled', result: unknown, error: JobError | null): Promise<FinishOutcome> {
    const jobId = lease.jobId;
    const row = await trx.updateTable('jobs').set({
      status, result: jsonb(result), error: jsonb(error),
      progress: status === 'succeeded' ? 1 : sql`progress`, ...NO_LEASE, finished_at: sql`now()`, updated_at: sql`now()`,
    }).where('id', '=', jobId).where('lease_token', '=', lease.token).where('status', '=', 'running')
      .returningAll().executeTakeFirst();
    if (!row) return { applied: false, job: null };
    const job = (await loadJob(trx, row))!;
    // Jobs waiting on this one are released (or ended) in the same transaction as its ending.
    const chained = await settleDependents(trx, jobId, status);
    await writeEvents(trx, [
      { type: 'status', jobId, status, attempts: row.attempts, error },
      { type: 'done', jobId, status, error },
      ...chained.events,
    ]);
    return { applied: true, job, released: chained.released };
  }

  /** Running → queued, runnable now, the attempt given back (a busy worker handing back a solo job). */
  async release(lease: Lease): Promise<boolean> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      const row = await this.lockLease(trx, lease);
      if (!row) return false;
      const queued = await this.requeue(trx, row, 0, row.error, { attempts: Math.max(0, row.attempts - 1) });
      await writeEvents(trx, [{ type: 'status', jobId: row.id, status: 'queued', attempts: queued.attempts }]);
      return true;
    }));
  }

  private requeue(trx: Transaction<Schema>, row: JobRow, delayMs: number, error: JobError | null, extra: { attempts?: number; solo?: boolean } = {}): Promise<JobRow> {
    return trx.updateTable('jobs').set({
      status: 'queued', run_at: sql`clock_timestamp() + ${ms(delayMs)}`, error: jsonb(error),
      ...NO_LEASE, ...extra, updated_at: sql`now()`,
    }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
  }

  /**
   * Puts back jobs whose worker is gone (rows already locked). `charge`: the attempt counts; out of
   * attempts → failed WORKER_CRASHED, else queued after the crash backoff. `spare`: the attempt is
   * given back and the job marked solo. `hand-back` (clean shutdown): the attempt is given back.
   * A job asked to cancel ends canceled in every case. Events are written once, last.
   */
  private async recoverAll(trx: Transaction<Schema>, items: Array<[JobRow, Recovery]>): Promise<Array<{ job: Job; retryAt: number | null }>> {
    const out: Array<{ job: Job; retryAt: number | null }> = [];
    const events: JobEvent[] = [];
    for (const [row, how] of items) {
      let ended: { status: 'failed' | 'canceled'; error: JobError } | null = null;
      if (row.cancel_requested) ended = { status: 'canceled', error: CANCELED };
      else if (how === 'charge' && row.attempts >= row.max_attempts) ended = { status: 'failed', error: CRASHED };
      if (ended) {
        const done = await trx.updateTable('jobs').set({
          status: ended.status, error: jsonb<JobError | null>(ended.error), ...NO_LEASE, finished_at: sql`now()`, updated_at: sql`now()`,
        }).where('id', '=', row.id).returningAll().executeTakeFirstOrThrow();
        events.push({ type: 'status', jobId: row.id, status: ended.status, attempts: done.attempts, error: ended.error },
          { type: 'done', jobId: row.id, status: ended.status, error: ended.error },
          ...(await settleDependents(trx, row.id, ended.status)).events);
        out.push({ job: (await loadJob(trx, done))!, retryAt: null });
        continue;
      }
      const queued = how === 'charge'
        ? await this.requeue(trx, row, this.crashBackoffMs * 2 ** Math.max(0, row.attempts - 1), PUT_BACK)
        : await this.requeue(trx, row, 0, row.error, { attempts: Math.max(0, row.attempts - 1), ...(how === 'spare' ? { solo: true } : {}) });
      events.push({ type: 'status', jobId: row.id, status: 'queued', attempts: queued.attempts });
      out.push({ job: (await loadJob(trx, queued))!, retryAt: queued.run_at.getTime() });
    }
    await writeEvents(trx, events);
    return out;
  }
}
