import { sql } from 'kysely';
import type { WorkerInfo, WorkerRegistry } from '../../core/ports/worker-registry.port.js';
import type { PgDb } from './postgres.db.js';
import { jsonb } from './postgres.rows.js';

/** Live workers in PostgreSQL's `workers` table, written by every worker node. */
export class PgWorkerRegistry implements WorkerRegistry {
  private closed = false;

  constructor(private readonly pg: PgDb) {
    pg.retain();
  }

  async beat(w: Omit<WorkerInfo, 'lastSeenAt'>): Promise<void> {
    await this.pg.run((db) => db.insertInto('workers')
      .values({ id: w.id, node: w.node, pid: w.pid, processors: jsonb(w.processors), running: jsonb(w.running), started_at: new Date(w.startedAt) })
      .onConflict((oc) => oc.column('id').doUpdateSet({ running: jsonb(w.running), last_seen_at: sql`now()` }))
      .execute());
  }

  async list(withinMs: number): Promise<WorkerInfo[]> {
    return this.pg.run(async (db) => {
      const rows = await db.selectFrom('workers').selectAll()
        .where('last_seen_at', '>=', sql<Date>`now() - ${`${Math.round(withinMs)} milliseconds`}::interval`)
        .orderBy('started_at', 'desc').execute();
      return rows.map((r) => ({
        id: r.id, node: r.node, pid: r.pid, processors: r.processors, running: r.running,
        startedAt: r.started_at.toISOString(), lastSeenAt: r.last_seen_at.toISOString(),
      }));
    });
  }

  async remove(id: string): Promise<void> {
    // Also forget workers silent for a day, so the table stays small.
    await this.pg.run((db) => db.deleteFrom('workers').where((eb) => eb.or([eb('id', '=', id), eb('last_seen_at', '<', sql<Date>`now() - interval '1 day'`)])).execute());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.release();
  }
}
