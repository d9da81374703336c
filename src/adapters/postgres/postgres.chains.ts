import { sql, type Transaction } from 'kysely';
import { InputError } from '../../core/errors.js';
import { dedupKey } from '../../core/params.js';
import type { Job, JobError, JobEvent, StoredInput } from '../../core/job.types.js';
import { jsonb, loadJob, type Schema } from './postgres.rows.js';

type Ended = 'succeeded' | 'failed' | 'canceled';

/** The upstream job's output of that name, or its first output for `*`. */
function outputOf(trx: Transaction<Schema>, jobId: string, name: string) {
  const q = trx.selectFrom('job_outputs').select(['name', 'size', 'mime', 'sha256']).where('job_id', '=', jobId);
  return (name === '*' ? q.orderBy('created_at').orderBy('name').limit(1) : q.where('name', '=', name)).executeTakeFirst();
}

/**
 * The input a chained job starts with, decided inside the create transaction (the upstream row is
 * locked, so it cannot end between this check and the insert): its output when the upstream job
 * has already succeeded (queued at once), else still the reference (waiting).
 */
export async function resolveAtCreate(trx: Transaction<Schema>, input: StoredInput): Promise<{ input: StoredInput; status: 'queued' | 'waiting' }> {
  if (input.kind !== 'job') return { input, status: 'queued' };
  const up = await trx.selectFrom('jobs').select('status').where('id', '=', input.job).forShare().executeTakeFirst();
  if (!up) throw new InputError('UPSTREAM_UNKNOWN', `No job ${input.job} to take the input from`);
  if (up.status === 'failed' || up.status === 'canceled') throw new InputError('UPSTREAM_FAILED', `Job ${input.job} ${up.status === 'failed' ? 'failed' : 'was canceled'}`);
  if (up.status !== 'succeeded') return { input, status: 'waiting' };
  const out = await outputOf(trx, input.job, input.output);
  if (!out) throw new InputError('UPSTREAM_OUTPUT_MISSING', `Job ${input.job} has no output ${JSON.stringify(input.output)}`);
  return { input: { kind: 'file', sha256: out.sha256, name: out.name, mime: out.mime, size: Number(out.size) }, status: 'queued' };
}

/**
 * Settles the jobs waiting on `upstreamId` after it ended, in the caller's transaction: on success
 * each gets the named output as its input and is queued; on failure or cancel they end too, with a
 * reason naming the upstream job, and so do the jobs waiting on them. Returns the events to write
 * (the caller writes them last, with its own) and the jobs now queued (to hand to the queue; the
 * reconciler covers a crash before that).
 */
export async function settleDependents(trx: Transaction<Schema>, upstreamId: string, ended: Ended): Promise<{ events: JobEvent[]; released: Job[] }> {
  const events: JobEvent[] = [];
  const released: Job[] = [];
  const waiting = await trx.selectFrom('jobs').select(['id', 'upstream_output', 'processor', 'processor_version', 'params', 'dedup_key'])
    .where('upstream_job', '=', upstreamId).where('status', '=', 'waiting').forUpdate().execute();
  for (const w of waiting) {
    if (ended === 'succeeded') {
      const out = await outputOf(trx, upstreamId, w.upstream_output!);
      if (out) {
        const input: StoredInput = { kind: 'file', sha256: out.sha256, name: out.name, mime: out.mime, size: Number(out.size) };
        // Its identity is now the output's content, as if the file had been uploaded (dedup).
        const key = w.dedup_key ? dedupKey(w.processor, w.processor_version, w.params, out.sha256) : null;
        const row = await trx.updateTable('jobs').set({ status: 'queued', input: jsonb(input), input_sha256: out.sha256, dedup_key: key, run_at: sql`now()`, updated_at: sql`now()` })
          .where('id', '=', w.id).returningAll().executeTakeFirstOrThrow();
        events.push({ type: 'status', jobId: w.id, status: 'queued', attempts: 0 });
        released.push((await loadJob(trx, row))!);
        continue;
      }
      await endWaiting(trx, w.id, 'failed', { code: 'UPSTREAM_OUTPUT_MISSING', message: `Job ${upstreamId} succeeded without an output ${JSON.stringify(w.upstream_output)}` }, events);
    } else if (ended === 'failed') {
      await endWaiting(trx, w.id, 'failed', { code: 'UPSTREAM_FAILED', message: `Job ${upstreamId}, whose output this job takes, failed` }, events);
    } else {
      await endWaiting(trx, w.id, 'canceled', { code: 'JOB_CANCELED', message: `Canceled because job ${upstreamId}, whose output this job takes, was canceled` }, events);
    }
  }
  return { events, released };
}

async function endWaiting(trx: Transaction<Schema>, id: string, status: 'failed' | 'canceled', error: JobError, events: JobEvent[]): Promise<void> {
  await trx.updateTable('jobs').set({ status, error: jsonb<JobError | null>(error), finished_at: sql`now()`, updated_at: sql`now()` }).where('id', '=', id).execute();
  events.push({ type: 'status', jobId: id, status, attempts: 0, error }, { type: 'done', jobId: id, status, error });
  events.push(...(await settleDependents(trx, id, status)).events);
}
