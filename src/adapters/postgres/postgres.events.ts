import { sql, type Transaction } from 'kysely';
import type { JobEvent } from '../../core/job.types.js';
import { LOCK } from './postgres.db.js';
import type { Schema } from './postgres.rows.js';

export const EVENTS_CHANNEL = 'mediaflow_events';

/**
 * Appends events inside the caller's transaction — the one making the state change they report —
 * and wakes every listener with NOTIFY (delivered at commit, dropped on rollback). Returns the ids.
 *
 * Ordering. Readers follow `id > last`, so an id must never become visible after a larger one: a
 * bigserial value is taken at insert but shows at commit, and two writers can commit in the other
 * order, which would make a reader step over the smaller id for good. We take a transaction-level
 * advisory lock before taking ids: it is held until commit, so ids are handed out and committed in
 * one order. (The alternative — readers stopping below the oldest in-flight id — needs a
 * transaction-id column and snapshot arithmetic in every read, and xids are not assigned in id
 * order either.) The lock costs little: NOTIFY already serializes committing notifiers on
 * PostgreSQL's notification-queue lock, and this must be the last statement of the transaction so
 * the lock is held only for the insert and the commit. Rolled-back inserts leave holes in the
 * numbering, never an event a reader could miss. Commits stay synchronous (never
 * `synchronous_commit = off`, tempting for progress lines): after a server crash an id a reader
 * already saw must not be handed out again, which a lost unflushed sequence record would allow.
 */
export async function writeEvents(trx: Transaction<Schema>, events: JobEvent[]): Promise<number[]> {
  if (events.length === 0) return [];
  // One round trip. The ids (the column default, evaluated as each row is produced) cannot be
  // taken before the lock: every produced row needs the lock's row, which exists only once the
  // lock is granted. NOTIFYs with the same payload in one transaction fold into one.
  const rows = values(events);
  const { rows: ids } = await sql<{ id: string }>`
    WITH lock AS (SELECT pg_advisory_xact_lock(${LOCK.events}::int, 0)),
    added AS (
      INSERT INTO events (job_id, data)
      SELECT v.job_id, v.data::jsonb FROM (VALUES ${rows}) AS v(ord, job_id, data), lock ORDER BY v.ord
      RETURNING id
    )
    SELECT id, pg_notify(${EVENTS_CHANNEL}, '') FROM added ORDER BY id`.execute(trx);
  return ids.map((r) => Number(r.id));
}

/** `(ord, job_id, data)` rows; `ord` keeps the caller's order through the insert. */
function values(events: JobEvent[]) {
  return sql.join(events.map((e, i) => sql`(${i}::int, ${e.jobId}::text, ${JSON.stringify(e)}::text)`));
}
