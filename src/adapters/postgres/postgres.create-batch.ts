import { sql, type Transaction } from 'kysely';
import type { Job, NewJob } from '../../core/job.types.js';
import type { CreateOutcome } from '../../core/ports/job-store.port.js';
import { newJobColumns } from '../job-columns.js';
import { LOCK } from './postgres.db.js';
import { writeEvents } from './postgres.events.js';
import { jsonb, loadJobs, rowToJob, type JobRow, type Schema } from './postgres.rows.js';

const ACTIVE = ['waiting', 'queued', 'running', 'succeeded'] as const;

/** The row a new job inserts (its input is a file or a URL: chained inputs are created one at a time). */
export function newJobRow(job: NewJob, status: 'queued' | 'waiting' = 'queued', input = job.input) {
  const row = newJobColumns(job, status, input);
  return { ...row, params: jsonb(row.params), input: jsonb(row.input), meta: jsonb(row.meta) };
}

/**
 * Creates several jobs in one transaction with the outcomes they would have had one after another
 * in this order: the same Idempotency-Key and dedup rules, against the stored jobs and against the
 * earlier jobs of the batch. A handful of statements for the whole batch (lock the keys, look up
 * the earlier jobs, insert, write the events) instead of as many per job: concurrent submits share
 * one transaction and one commit, as the embedded mode's group commit does with SQLite.
 */
export async function createBatch(trx: Transaction<Schema>, jobs: NewJob[]): Promise<CreateOutcome[]> {
  const idemKeys = [...new Set(jobs.map((j) => j.idempotencyKey).filter((k): k is string => !!k))];
  const dedupKeys = [...new Set(jobs.map((j) => j.dedupKey).filter((k): k is string => !!k))];
  // The same per-key locks as a single create, all at once, in one order every process follows
  // (sorted), so two batches sharing keys wait for each other instead of deadlocking.
  const keys = [...idemKeys.map((k) => [LOCK.idempotency, k] as const), ...dedupKeys.map((k) => [LOCK.dedup, k] as const)];
  if (keys.length > 0) {
    await sql`SELECT count(pg_advisory_xact_lock(s.ns, s.h)) FROM (
      SELECT DISTINCT v.ns, hashtext(v.k) AS h FROM (VALUES ${sql.join(keys.map(([ns, k]) => sql`(${ns}::int, ${k}::text)`))}) AS v(ns, k)
      ORDER BY 1, 2 OFFSET 0) AS s`.execute(trx);
  }
  // The stored jobs holding these keys (read after the locks: they see every earlier commit).
  const byIdem = new Map<string, JobRow>();
  const byDedup = new Map<string, JobRow>();
  if (idemKeys.length > 0) {
    for (const r of await trx.selectFrom('jobs').selectAll().where('idempotency_key', 'in', idemKeys).execute()) byIdem.set(r.idempotency_key!, r);
  }
  if (dedupKeys.length > 0) {
    const rows = await trx.selectFrom('jobs').selectAll().where('dedup_key', 'in', dedupKeys).where('status', 'in', [...ACTIVE])
      .orderBy('seq', 'asc').execute();
    for (const r of rows) byDedup.set(r.dedup_key!, r); // the newest wins, as in a single create
  }
  const stored = await loadJobs(trx, [...new Set([...byIdem.values(), ...byDedup.values()])]);
  const storedJob = new Map(stored.map((j) => [j.id, j]));

  // Decide each job in order; a job created earlier in the batch counts as stored.
  const created = new Map<string, NewJob>();
  const decided: Array<{ kind: 'new' } | { kind: 'old'; id: string; reason: 'dedup' | 'idempotency' | 'idempotency-conflict' }> = [];
  const earlierIdem = new Map<string, NewJob>();
  const earlierDedup = new Map<string, NewJob>();
  for (const job of jobs) {
    const idem = job.idempotencyKey ? byIdem.get(job.idempotencyKey) ?? earlierIdem.get(job.idempotencyKey) : undefined;
    if (idem) {
      const fingerprint = 'request_fingerprint' in idem ? idem.request_fingerprint : idem.requestFingerprint;
      decided.push({ kind: 'old', id: idem.id, reason: fingerprint === job.requestFingerprint ? 'idempotency' : 'idempotency-conflict' });
      continue;
    }
    const dup = job.dedupKey ? byDedup.get(job.dedupKey) ?? earlierDedup.get(job.dedupKey) : undefined;
    if (dup) {
      decided.push({ kind: 'old', id: dup.id, reason: 'dedup' });
      continue;
    }
    created.set(job.id, job);
    if (job.idempotencyKey) earlierIdem.set(job.idempotencyKey, job);
    if (job.dedupKey) earlierDedup.set(job.dedupKey, job);
    decided.push({ kind: 'new' });
  }

  const inserted = new Map<string, Job>();
  if (created.size > 0) {
    const rows = await trx.insertInto('jobs').values([...created.values()].map((j) => newJobRow(j))).returningAll().execute();
    for (const r of rows) inserted.set(r.id, rowToJob(r, []));
    await writeEvents(trx, rows.map((r) => ({ type: 'status', jobId: r.id, status: 'queued', attempts: 0 })));
  }
  return jobs.map((job, i): CreateOutcome => {
    const d = decided[i]!;
    if (d.kind === 'new') return { created: true, job: inserted.get(job.id)! };
    return { created: false, job: storedJob.get(d.id) ?? inserted.get(d.id)!, reason: d.reason };
  });
}
