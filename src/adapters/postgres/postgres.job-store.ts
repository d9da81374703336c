import { sql, type Transaction } from 'kysely';
import type { Job, JobEvent, JobListFilter, JobOutput, JobPage, JobStatus, NewJob } from '../../core/job.types.js';
import { TERMINAL_STATUSES } from '../../core/job.types.js';
import type { CancelOutcome, CreateOutcome, JobStore } from '../../core/ports/job-store.port.js';
import { LOCK, type PgDb } from './postgres.db.js';
import { resolveAtCreate, settleDependents } from './postgres.chains.js';
import { Batcher } from './postgres.batcher.js';
import { createBatch, newJobRow } from './postgres.create-batch.js';
import { writeEvents } from './postgres.events.js';
import { jsonb, loadJob, loadJobs, rowToJob, type JobRow, type Schema } from './postgres.rows.js';

const CANCELED = { code: 'JOB_CANCELED', message: 'The job was canceled' };

/** Serializes the transactions that share `key` in the namespace `ns` until they commit. */
export async function lockKey(trx: Transaction<Schema>, ns: number, key: string): Promise<void> {
  await sql`SELECT pg_advisory_xact_lock(${ns}::int, hashtext(${key}))`.execute(trx);
}

/**
 * JobStore on PostgreSQL. Every state change is one transaction that also writes its event
 * (postgres.events.ts); rows are locked (FOR UPDATE) before they are judged, so a cancel racing a
 * worker's completion sees one consistent state.
 */
export class PgJobStore implements JobStore {
  private closed = false;
  private readonly creates = new Batcher<NewJob, CreateOutcome>(
    (job) => this.createOne(job),
    (jobs) => this.pg.run((db) => db.transaction().execute((trx) => createBatch(trx, jobs))),
  );

  constructor(private readonly pg: PgDb) {
    pg.retain();
  }

  /**
   * Creates arriving while a create transaction is in flight go together in the next one
   * (postgres.create-batch.ts): one commit for many submits. A job whose input is another job's
   * output is created alone (its upstream is checked and may refuse it).
   */
  create(job: NewJob): Promise<CreateOutcome> {
    if (job.input.kind === 'job') return this.createOne(job);
    return this.creates.run(job);
  }

  private async createOne(job: NewJob): Promise<CreateOutcome> {
    return this.pg.run((db) => db.transaction().execute(async (trx): Promise<CreateOutcome> => {
      // Under READ COMMITTED two identical submits would both find no earlier job and both insert.
      // A lock per key makes the second wait for the first to commit, then find its row.
      // Keys are locked in the order a batch locks them (dedup before idempotency: the namespaces
      // sorted), so two creates never wait on each other crosswise.
      if (job.dedupKey) await lockKey(trx, LOCK.dedup, job.dedupKey);
      if (job.idempotencyKey) await lockKey(trx, LOCK.idempotency, job.idempotencyKey);
      if (job.idempotencyKey) {
        const prev = await trx.selectFrom('jobs').selectAll().where('idempotency_key', '=', job.idempotencyKey).executeTakeFirst();
        if (prev) {
          const reason = prev.request_fingerprint === job.requestFingerprint ? 'idempotency' : 'idempotency-conflict';
          return { created: false, job: (await loadJob(trx, prev))!, reason };
        }
      }
      if (job.dedupKey) {
        const prev = await trx.selectFrom('jobs').selectAll()
          .where('dedup_key', '=', job.dedupKey)
          .where('status', 'in', ['waiting', 'queued', 'running', 'succeeded'])
          .orderBy('seq', 'desc').limit(1).executeTakeFirst();
        if (prev) return { created: false, job: (await loadJob(trx, prev))!, reason: 'dedup' };
      }
      const { input, status } = await resolveAtCreate(trx, job.input);
      const row = await trx.insertInto('jobs').values(newJobRow(job, status, input)).returningAll().executeTakeFirstOrThrow();
      await writeEvents(trx, [{ type: 'status', jobId: job.id, status, attempts: 0 }]);
      return { created: true, job: rowToJob(row, []) };
    }));
  }

  async get(id: string): Promise<Job | null> {
    return this.pg.run(async (db) => loadJob(db, await db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst()));
  }

  async getMany(ids: string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    return this.pg.run(async (db) => loadJobs(db, await db.selectFrom('jobs').selectAll().where('id', 'in', ids).execute()));
  }

  async list(filter: JobListFilter): Promise<JobPage> {
    return this.pg.run(async (db) => {
      let q = db.selectFrom('jobs').selectAll();
      if (filter.status?.length) q = q.where('status', 'in', filter.status);
      if (filter.processor?.length) q = q.where('processor', 'in', filter.processor);
      if (filter.meta) {
        const { key, value } = filter.meta;
        // `name` has its own indexed column (compat routes look jobs up by the client's file name).
        q = key === 'name' ? q.where('meta_name', '=', value) : q.where(sql<string>`meta->>${key}`, '=', value);
      }
      if (filter.cursor) {
        const seq = Buffer.from(filter.cursor, 'base64url').toString();
        if (/^\d+$/.test(seq)) q = q.where(sql<string>`seq`, '<', seq);
      }
      const rows = await q.orderBy('seq', 'desc').limit(filter.limit + 1).execute();
      const page = rows.slice(0, filter.limit);
      const next = rows.length > filter.limit ? Buffer.from(String(page[page.length - 1]!.seq)).toString('base64url') : null;
      return { items: await loadJobs(db, page), nextCursor: next };
    });
  }

  async requestCancel(id: string): Promise<CancelOutcome | null> {
    return this.pg.run((db) => db.transaction().execute(async (trx): Promise<CancelOutcome | null> => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row) return null;
      if (row.status === 'queued' || row.status === 'waiting') {
        const done = await trx.updateTable('jobs').set({
          status: 'canceled', error: jsonb(CANCELED), finished_at: sql`now()`, updated_at: sql`now()`,
        }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        const job = (await loadJob(trx, done))!;
        await writeEvents(trx, [
          { type: 'status', jobId: id, status: 'canceled', attempts: done.attempts, error: CANCELED },
          { type: 'done', jobId: id, status: 'canceled', error: CANCELED },
          ...(await settleDependents(trx, id, 'canceled')).events,
        ]);
        return { job, canceled: 'now' };
      }
      if (row.status === 'running') {
        const flagged = await trx.updateTable('jobs').set({ cancel_requested: true, updated_at: sql`now()` })
          .where('id', '=', id).returningAll().executeTakeFirstOrThrow();
        return { job: (await loadJob(trx, flagged))!, canceled: 'requested' };
      }
      return { job: (await loadJob(trx, row))!, canceled: 'no' };
    }));
  }

  async retry(id: string): Promise<{ job: Job; dropped: JobOutput[] } | null> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('jobs').select('status').where('id', '=', id).forUpdate().executeTakeFirst();
      if (!row || (row.status !== 'failed' && row.status !== 'canceled')) return null;
      const dropped = await trx.deleteFrom('job_outputs').where('job_id', '=', id).returning(['name', 'size', 'mime', 'sha256']).execute();
      const queued = await trx.updateTable('jobs').set({
        status: 'queued', attempts: 0, error: null, result: null, progress: 0, stage: null, cancel_requested: false, solo: false,
        run_at: sql`now()`, updated_at: sql`now()`, started_at: null, finished_at: null,
      }).where('id', '=', id).returningAll().executeTakeFirstOrThrow();
      const job = rowToJob(queued, []);
      await writeEvents(trx, [{ type: 'status', jobId: id, status: 'queued', attempts: 0 } satisfies JobEvent]);
      return { job, dropped: dropped.map((o) => ({ ...o, size: Number(o.size) })) };
    }));
  }

  async delete(id: string): Promise<Job | null> {
    return this.pg.run((db) => db.transaction().execute(async (trx) => {
      const row = await trx.selectFrom('jobs').selectAll().where('id', '=', id).where('status', 'in', TERMINAL_STATUSES).forUpdate().executeTakeFirst();
      if (!row) return null;
      const job = await loadJob(trx, row);
      await trx.deleteFrom('jobs').where('id', '=', id).execute();
      return job;
    }));
  }

  async listEndedBefore(before: Date, limit: number): Promise<Job[]> {
    return this.pg.run(async (db) => loadJobs(db, await db.selectFrom('jobs').selectAll()
      .where('status', 'in', TERMINAL_STATUSES).where('finished_at', '<', before)
      .orderBy('finished_at').limit(limit).execute()));
  }

  async listQueued(before: Date, afterSeq: number, limit: number): Promise<Array<{ seq: number; job: Job }>> {
    return this.pg.run(async (db) => {
      const rows: JobRow[] = await db.selectFrom('jobs').selectAll()
        .where('status', '=', 'queued').where('created_at', '<', before).where(sql<string>`seq`, '>', String(afterSeq))
        .orderBy('seq').limit(limit).execute();
      const jobs = await loadJobs(db, rows);
      return rows.map((r, i) => ({ seq: Number(r.seq), job: jobs[i]! }));
    });
  }

  async referencedBlobs(sha256s: string[]): Promise<Set<string>> {
    if (sha256s.length === 0) return new Set();
    return this.pg.run(async (db) => {
      const rows = await db.selectFrom('jobs').select('input_sha256 as sha').where('input_sha256', 'in', sha256s)
        .union(db.selectFrom('job_outputs').select('sha256 as sha').where('sha256', 'in', sha256s))
        .execute();
      return new Set(rows.map((r) => r.sha!));
    });
  }

  async countByStatus(): Promise<Array<{ processor: string; status: JobStatus; count: number }>> {
    return this.pg.run(async (db) => {
      const rows = await db.selectFrom('jobs').select(['processor', 'status', (eb) => eb.fn.countAll<string>().as('count')])
        .groupBy(['processor', 'status']).execute();
      return rows.map((r) => ({ processor: r.processor, status: r.status, count: Number(r.count) }));
    });
  }

  async ping(): Promise<void> {
    await this.pg.run((db) => sql`SELECT 1`.execute(db));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.release();
  }
}
