import type { Statement } from 'better-sqlite3';
import type { Job, JobEvent, JobListFilter, JobOutput, JobPage, JobStatus, NewJob } from '../../core/job.types.js';
import type { CancelOutcome, CreateOutcome, JobStore } from '../../core/ports/job-store.port.js';
import type { GroupCommit } from './group-commit.js';
import { resolveAtCreate, settleDependents } from './sqlite.chains.js';
import { rowToJob, type Db, type JobRow, type SqliteHandle } from './sqlite.db.js';
import { newJobColumns } from '../job-columns.js';

const CANCELED = '{"code":"JOB_CANCELED","message":"The job was canceled"}';

/** JobStore on the embedded SQLite file. better-sqlite3 is synchronous; each call is one short transaction. */
export class SqliteJobStore implements JobStore {
  private readonly s: Record<string, Statement>;
  private readonly group: GroupCommit;
  private readonly db: Db;

  constructor(private readonly h: SqliteHandle) {
    const db = (this.db = h.db);
    this.group = h.group;
    this.s = {
      byId: db.prepare('SELECT * FROM jobs WHERE id = ?'),
      outputs: db.prepare('SELECT name, size, mime, sha256 FROM job_outputs WHERE job_id = ? ORDER BY created_at, name'),
      byDedup: db.prepare(`SELECT * FROM jobs WHERE dedup_key = ? AND status IN ('waiting','queued','running','succeeded') ORDER BY seq DESC LIMIT 1`),
      byIdem: db.prepare('SELECT * FROM jobs WHERE idempotency_key = ?'),
      // A new record is not runnable until the queue's enqueue() (enqueued = 0).
      insert: db.prepare(`INSERT INTO jobs (id, processor, processor_version, params, input, input_sha256, status, priority,
        max_attempts, dedup_key, idempotency_key, request_fingerprint, meta, meta_name, webhook, upstream_job, upstream_output,
        run_at, enqueued, created_at, updated_at)
        VALUES (@id, @processor, @processor_version, @params, @input, @input_sha256, @status, @priority, @max_attempts,
        @dedup_key, @idempotency_key, @request_fingerprint, @meta, @meta_name, @webhook, @upstream_job, @upstream_output,
        @now, 0, @now, @now)`),
      cancelQueued: db.prepare(`UPDATE jobs SET status = 'canceled', finished_at = @now, updated_at = @now,
        error = '${CANCELED}' WHERE id = @id AND status IN ('queued', 'waiting')`),
      cancelRunning: db.prepare(`UPDATE jobs SET cancel_requested = 1, updated_at = @now WHERE id = @id AND status = 'running'`),
      retry: db.prepare(`UPDATE jobs SET status = 'queued', attempts = 0, error = NULL, result = NULL, progress = 0, stage = NULL,
        cancel_requested = 0, solo = 0, run_at = @now, enqueued = 0, updated_at = @now, started_at = NULL, finished_at = NULL
        WHERE id = @id AND status IN ('failed','canceled')`),
      dropOutputs: db.prepare('DELETE FROM job_outputs WHERE job_id = ?'),
      del: db.prepare(`DELETE FROM jobs WHERE id = ? AND status IN ('succeeded','failed','canceled')`),
      endedBefore: db.prepare(`SELECT * FROM jobs WHERE finished_at IS NOT NULL AND finished_at < ? AND status IN ('succeeded','failed','canceled') ORDER BY finished_at LIMIT ?`),
      queuedBefore: db.prepare(`SELECT * FROM jobs WHERE status = 'queued' AND created_at < ? AND seq > ? ORDER BY seq LIMIT ?`),
      blobRef: db.prepare(`SELECT 1 FROM jobs WHERE input_sha256 = @sha UNION ALL SELECT 1 FROM job_outputs WHERE sha256 = @sha LIMIT 1`),
      counts: db.prepare('SELECT processor, status, count(*) AS count FROM jobs GROUP BY processor, status'),
      appendEvent: db.prepare('INSERT INTO events (job_id, data, created_at) VALUES (?, ?, ?)'),
    };
  }

  private load(row: JobRow | undefined): Job | null {
    if (!row) return null;
    return rowToJob(row, this.s.outputs!.all(row.id) as JobOutput[]);
  }

  async create(job: NewJob): Promise<CreateOutcome> {
    // IMMEDIATE: take the write lock first, so concurrent identical submits (even from other
    // processes) see each other's rows and make one job.
    return this.group.run((): CreateOutcome => {
      if (job.idempotencyKey) {
        const prev = this.load(this.s.byIdem!.get(job.idempotencyKey) as JobRow | undefined);
        if (prev) {
          const row = this.s.byIdem!.get(job.idempotencyKey) as JobRow;
          return row.request_fingerprint === job.requestFingerprint
            ? { created: false, job: prev, reason: 'idempotency' }
            : { created: false, job: prev, reason: 'idempotency-conflict' };
        }
      }
      if (job.dedupKey) {
        const prev = this.load(this.s.byDedup!.get(job.dedupKey) as JobRow | undefined);
        if (prev) return { created: false, job: prev, reason: 'dedup' };
      }
      const now = Date.now();
      const { input, status } = resolveAtCreate(this.db, job.input);
      const row = newJobColumns(job, status, input);
      this.s.insert!.run({ ...row, params: JSON.stringify(row.params), input: JSON.stringify(row.input), meta: JSON.stringify(row.meta), now });
      const created = this.load(this.s.byId!.get(job.id) as JobRow)!;
      this.s.appendEvent!.run(job.id, JSON.stringify({ type: 'status', jobId: job.id, status, attempts: 0 } satisfies JobEvent), now);
      return { created: true, job: created };
    });
  }

  async get(id: string): Promise<Job | null> {
    return this.load(this.s.byId!.get(id) as JobRow | undefined);
  }

  async getMany(ids: string[]): Promise<Job[]> {
    if (ids.length === 0) return [];
    const rows = this.h.db.prepare(`SELECT * FROM jobs WHERE id IN (${ids.map(() => '?').join(',')})`).all(...ids) as JobRow[];
    return rows.map((r) => this.load(r)!);
  }

  async list(filter: JobListFilter): Promise<JobPage> {
    const where: string[] = [];
    const args: unknown[] = [];
    if (filter.status?.length) {
      where.push(`status IN (${filter.status.map(() => '?').join(',')})`);
      args.push(...filter.status);
    }
    if (filter.processor?.length) {
      where.push(`processor IN (${filter.processor.map(() => '?').join(',')})`);
      args.push(...filter.processor);
    }
    if (filter.meta) {
      if (filter.meta.key === 'name') {
        where.push('meta_name = ?');
        args.push(filter.meta.value);
      } else {
        where.push(`json_extract(meta, ?) = ?`);
        args.push(`$.${filter.meta.key}`, filter.meta.value);
      }
    }
    if (filter.cursor) {
      const seq = Number(Buffer.from(filter.cursor, 'base64url').toString());
      if (Number.isFinite(seq)) {
        where.push('seq < ?');
        args.push(seq);
      }
    }
    const sql = `SELECT * FROM jobs ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT ?`;
    const rows = this.db.prepare(sql).all(...args, filter.limit + 1) as JobRow[];
    const page = rows.slice(0, filter.limit);
    const next = rows.length > filter.limit ? Buffer.from(String(page[page.length - 1]!.seq)).toString('base64url') : null;
    return { items: page.map((r) => this.load(r)!), nextCursor: next };
  }

  async requestCancel(id: string): Promise<CancelOutcome | null> {
    return this.h.tx((): CancelOutcome | null => {
      const now = Date.now();
      let canceled: CancelOutcome['canceled'] = 'no';
      if (this.s.cancelQueued!.run({ id, now }).changes) {
        const error = { code: 'JOB_CANCELED', message: 'The job was canceled' };
        this.s.appendEvent!.run(id, JSON.stringify({ type: 'status', jobId: id, status: 'canceled', attempts: 0, error } satisfies JobEvent), now);
        this.s.appendEvent!.run(id, JSON.stringify({ type: 'done', jobId: id, status: 'canceled', error } satisfies JobEvent), now);
        settleDependents(this.db, id, 'canceled', now);
        canceled = 'now';
      } else if (this.s.cancelRunning!.run({ id, now }).changes) {
        canceled = 'requested';
      }
      const job = this.load(this.s.byId!.get(id) as JobRow | undefined);
      return job ? ({ job, canceled } as CancelOutcome) : null;
    });
  }

  async retry(id: string): Promise<{ job: Job; dropped: JobOutput[] } | null> {
    return this.h.tx(() => {
      const before = this.load(this.s.byId!.get(id) as JobRow | undefined);
      const now = Date.now();
      if (!before || !this.s.retry!.run({ id, now }).changes) return null;
      this.s.dropOutputs!.run(id);
      this.s.appendEvent!.run(id, JSON.stringify({ type: 'status', jobId: id, status: 'queued', attempts: 0 } satisfies JobEvent), now);
      return { job: this.load(this.s.byId!.get(id) as JobRow)!, dropped: before.outputs };
    });
  }

  async delete(id: string): Promise<Job | null> {
    return this.h.tx(() => {
      const job = this.load(this.s.byId!.get(id) as JobRow | undefined);
      return job && this.s.del!.run(id).changes ? job : null;
    });
  }

  async listEndedBefore(before: Date, limit: number): Promise<Job[]> {
    return (this.s.endedBefore!.all(before.getTime(), limit) as JobRow[]).map((r) => this.load(r)!);
  }

  async listQueued(before: Date, afterSeq: number, limit: number): Promise<Array<{ seq: number; job: Job }>> {
    return (this.s.queuedBefore!.all(before.getTime(), afterSeq, limit) as JobRow[]).map((r) => ({ seq: r.seq, job: this.load(r)! }));
  }

  async referencedBlobs(sha256s: string[]): Promise<Set<string>> {
    return new Set(sha256s.filter((sha) => this.s.blobRef!.get({ sha }) !== undefined));
  }

  async countByStatus(): Promise<Array<{ processor: string; status: JobStatus; count: number }>> {
    return this.s.counts!.all() as Array<{ processor: string; status: JobStatus; count: number }>;
  }

  async ping(): Promise<void> {
    this.db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    this.h.close();
  }
}
