import { sql, type Transaction } from 'kysely';
import type { JobEvent } from '../../core/job.types.js';
import type { Schema } from './postgres.rows.js';

export const EVENTS_CHANNEL = 'mediaflow_events';

/**
 * Appends events inside the caller's transaction — the one making the state change they report —
 * and wakes every listener with NOTIFY (delivered at commit, dropped on rollback).
 *
 * Ordering. Readers follow an event's position (`pos > last`), so a position must never become
 * visible after a larger one. An id taken at insert shows only at commit, and two writers can
 * commit in the other order, which would make a reader step over the smaller one for good. So
 * positions are handed out at commit: a deferred trigger (migration 005) takes a transaction-level
 * advisory lock and numbers the transaction's events just before its commit record is written;
 * the lock is held until the commit is durable, so positions are handed out and committed in one
 * order. It is held only for that server-side moment: no network round trip, no wait on a busy
 * Node process falls inside it (an earlier design took the lock with the insert and held it until
 * the client's COMMIT arrived, which made every event-writing transaction of the cluster take
 * turns at the speed of the slowest client). A commit that fails leaves a hole in the positions,
 * never an event a reader could miss. Commits stay synchronous (never `synchronous_commit = off`,
 * tempting for progress lines): after a server crash a position a reader already saw must not be
 * handed out again, which a lost unflushed sequence record would allow.
 */
export async function writeEvents(trx: Transaction<Schema>, events: JobEvent[]): Promise<void> {
  if (events.length === 0) return;
  // One round trip. NOTIFYs with the same payload in one transaction fold into one.
  await sql`
    WITH added AS (
      INSERT INTO events (job_id, data)
      SELECT v.job_id, v.data::jsonb FROM (VALUES ${values(events)}) AS v(ord, job_id, data) ORDER BY v.ord
      RETURNING id
    )
    SELECT pg_notify(${EVENTS_CHANNEL}, '') FROM added LIMIT 1`.execute(trx);
}

/** `(ord, job_id, data)` rows; `ord` keeps the caller's order through the insert. */
function values(events: JobEvent[]) {
  return sql.join(events.map((e, i) => sql`(${i}::int, ${e.jobId}::text, ${JSON.stringify(e)}::text)`));
}
