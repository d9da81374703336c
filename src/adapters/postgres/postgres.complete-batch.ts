import { sql, type Transaction } from 'kysely';
import type { Job, JobEvent } from '../../core/job.types.js';
import type { FinishOutcome, Lease } from '../../core/ports/queue.port.js';
import { settleDependents } from './postgres.chains.js';
import { writeEvents } from './postgres.events.js';
import { loadJobs, type JobRow, type Schema } from './postgres.rows.js';

/**
 * Ends several jobs `succeeded` in one transaction, each only if its lease still holds it (the
 * guard is the UPDATE's own condition): one statement for the endings, one for their outputs, one
 * to find the jobs that have chained jobs waiting (settled as a single completion settles them),
 * one for the events — the same writes as one completion after another, in a handful of statements.
 */
export async function completeBatch(trx: Transaction<Schema>, items: Array<{ lease: Lease; result: unknown }>): Promise<FinishOutcome[]> {
  const values = sql.join(items.map(({ lease, result }) =>
    sql`(${lease.jobId}::text, ${lease.token}::text, ${result === undefined || result === null ? null : JSON.stringify(result)}::text)`));
  const { rows } = await sql<JobRow>`
    UPDATE jobs SET status = 'succeeded', result = v.result::jsonb, error = NULL, progress = 1,
      lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL, finished_at = now(), updated_at = now()
    FROM (VALUES ${values}) AS v(id, token, result)
    WHERE jobs.id = v.id AND jobs.lease_token = v.token AND jobs.status = 'running'
    RETURNING jobs.*`.execute(trx);
  if (rows.length === 0) return items.map(() => ({ applied: false, job: null }));
  const jobs = new Map<string, Job>((await loadJobs(trx, rows)).map((j) => [j.id, j]));
  const events: JobEvent[] = [];
  for (const r of rows) {
    events.push({ type: 'status', jobId: r.id, status: 'succeeded', attempts: r.attempts, error: null },
      { type: 'done', jobId: r.id, status: 'succeeded', error: null });
  }
  // Jobs waiting on these are released in the same transaction as their ending.
  const released = new Map<string, Job[]>();
  const upstreams = await trx.selectFrom('jobs').select('upstream_job').distinct()
    .where('upstream_job', 'in', rows.map((r) => r.id)).where('status', '=', 'waiting').execute();
  for (const { upstream_job } of upstreams) {
    const chained = await settleDependents(trx, upstream_job!, 'succeeded');
    events.push(...chained.events);
    released.set(upstream_job!, chained.released);
  }
  await writeEvents(trx, events);
  return items.map(({ lease }) => {
    const job = jobs.get(lease.jobId);
    return job ? { applied: true, job, released: released.get(lease.jobId) ?? [] } : { applied: false, job: null };
  });
}
