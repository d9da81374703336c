import type { Database, Statement } from 'better-sqlite3';
import { InputError } from '../../core/errors.js';
import { dedupKey } from '../../core/params.js';
import type { JobError, JobEvent, JobOutput, StoredInput } from '../../core/job.types.js';

type Ended = 'succeeded' | 'failed' | 'canceled';

const cache = new WeakMap<Database, Map<string, Statement>>();

/** Statements prepared once per connection: settling runs with every job's ending. */
function stmt(db: Database, sql: string): Statement {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  let st = m.get(sql);
  if (!st) m.set(sql, (st = db.prepare(sql)));
  return st;
}

/** The upstream job's output of that name, or its first output for `*`. */
function outputOf(db: Database, jobId: string, name: string): JobOutput | undefined {
  return (name === '*'
    ? stmt(db, 'SELECT name, size, mime, sha256 FROM job_outputs WHERE job_id = ? ORDER BY created_at, name LIMIT 1').get(jobId)
    : stmt(db, 'SELECT name, size, mime, sha256 FROM job_outputs WHERE job_id = ? AND name = ?').get(jobId, name)) as JobOutput | undefined;
}

const emit = (db: Database, ev: JobEvent, now: number) =>
  stmt(db, 'INSERT INTO events (job_id, data, created_at) VALUES (?, ?, ?)').run(ev.jobId, JSON.stringify(ev), now);

/**
 * The input a chained job starts with, decided inside the create transaction: the upstream job's
 * output when it has already succeeded (queued at once), else still the reference (waiting).
 */
export function resolveAtCreate(db: Database, input: StoredInput): { input: StoredInput; status: 'queued' | 'waiting' } {
  if (input.kind !== 'job') return { input, status: 'queued' };
  const up = stmt(db, 'SELECT status FROM jobs WHERE id = ?').get(input.job) as { status: string } | undefined;
  if (!up) throw new InputError('UPSTREAM_UNKNOWN', `No job ${input.job} to take the input from`);
  if (up.status === 'failed' || up.status === 'canceled') throw new InputError('UPSTREAM_FAILED', `Job ${input.job} ${up.status === 'failed' ? 'failed' : 'was canceled'}`);
  if (up.status !== 'succeeded') return { input, status: 'waiting' };
  const out = outputOf(db, input.job, input.output);
  if (!out) throw new InputError('UPSTREAM_OUTPUT_MISSING', `Job ${input.job} has no output ${JSON.stringify(input.output)}`);
  return { input: { kind: 'file', sha256: out.sha256, name: out.name, mime: out.mime, size: out.size }, status: 'queued' };
}

/**
 * Settles the jobs waiting on `upstreamId` after it ended, in the caller's transaction: on success
 * each gets the named output as its input and is queued (runnable at once: the SQLite table is the
 * queue); on failure or cancel they end too, with a reason naming the upstream job, and so do the
 * jobs waiting on them. Returns the ids queued.
 */
export function settleDependents(db: Database, upstreamId: string, ended: Ended, now: number): string[] {
  const waiting = stmt(db, `SELECT id, upstream_output, processor, processor_version, params, dedup_key FROM jobs WHERE upstream_job = ? AND status = 'waiting'`)
    .all(upstreamId) as Array<{ id: string; upstream_output: string; processor: string; processor_version: string; params: string; dedup_key: string | null }>;
  const queued: string[] = [];
  for (const w of waiting) {
    if (ended === 'succeeded') {
      const out = outputOf(db, upstreamId, w.upstream_output);
      if (out) {
        const input: StoredInput = { kind: 'file', sha256: out.sha256, name: out.name, mime: out.mime, size: out.size };
        // Its identity is now the output's content, as if the file had been uploaded (dedup).
        const key = w.dedup_key ? dedupKey(w.processor, w.processor_version, JSON.parse(w.params), out.sha256) : null;
        stmt(db, `UPDATE jobs SET status = 'queued', input = ?, input_sha256 = ?, dedup_key = ?, enqueued = 1, run_at = ?, updated_at = ? WHERE id = ? AND status = 'waiting'`)
          .run(JSON.stringify(input), out.sha256, key, now, now, w.id);
        emit(db, { type: 'status', jobId: w.id, status: 'queued', attempts: 0 }, now);
        queued.push(w.id);
        continue;
      }
      endWaiting(db, w.id, 'failed', { code: 'UPSTREAM_OUTPUT_MISSING', message: `Job ${upstreamId} succeeded without an output ${JSON.stringify(w.upstream_output)}` }, now);
    } else if (ended === 'failed') {
      endWaiting(db, w.id, 'failed', { code: 'UPSTREAM_FAILED', message: `Job ${upstreamId}, whose output this job takes, failed` }, now);
    } else {
      endWaiting(db, w.id, 'canceled', { code: 'JOB_CANCELED', message: `Canceled because job ${upstreamId}, whose output this job takes, was canceled` }, now);
    }
  }
  return queued;
}

function endWaiting(db: Database, id: string, status: 'failed' | 'canceled', error: JobError, now: number): void {
  const changed = stmt(db, `UPDATE jobs SET status = ?, error = ?, finished_at = ?, updated_at = ? WHERE id = ? AND status = 'waiting'`)
    .run(status, JSON.stringify(error), now, now, id).changes;
  if (!changed) return;
  emit(db, { type: 'status', jobId: id, status, attempts: 0, error }, now);
  emit(db, { type: 'done', jobId: id, status, error }, now);
  settleDependents(db, id, status, now);
}
