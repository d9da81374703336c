import type { WorkerInfo, WorkerRegistry } from '../../core/ports/worker-registry.port.js';
import type { SqliteHandle } from './sqlite.db.js';

interface Row { id: string; node: string; pid: number; processors: string; running: string; started_at: number; last_seen_at: number }

/** Live workers in the `workers` table of the shared SQLite file. */
export class SqliteWorkerRegistry implements WorkerRegistry {
  constructor(private readonly h: SqliteHandle) {}

  async beat(w: Omit<WorkerInfo, 'lastSeenAt'>): Promise<void> {
    await this.h.group.run(() => this.h.db.prepare(`INSERT INTO workers (id, node, pid, processors, running, started_at, last_seen_at)
      VALUES (@id, @node, @pid, @processors, @running, @startedAt, @now)
      ON CONFLICT(id) DO UPDATE SET running = excluded.running, last_seen_at = excluded.last_seen_at`)
      .run({ ...w, processors: JSON.stringify(w.processors), running: JSON.stringify(w.running), startedAt: Date.parse(w.startedAt), now: Date.now() }));
  }

  async list(withinMs: number): Promise<WorkerInfo[]> {
    const rows = this.h.db.prepare('SELECT * FROM workers WHERE last_seen_at >= ? ORDER BY started_at DESC').all(Date.now() - withinMs) as Row[];
    return rows.map((r) => ({
      id: r.id, node: r.node, pid: r.pid, processors: JSON.parse(r.processors), running: JSON.parse(r.running),
      startedAt: new Date(r.started_at).toISOString(), lastSeenAt: new Date(r.last_seen_at).toISOString(),
    }));
  }

  async remove(id: string): Promise<void> {
    // Also forget workers silent for a day, so the table stays small.
    this.h.tx(() => this.h.db.prepare('DELETE FROM workers WHERE id = ? OR last_seen_at < ?').run(id, Date.now() - 86_400_000));
  }
}
