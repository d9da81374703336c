import type { Statement } from 'better-sqlite3';
import type { JobEvent } from '../../core/job.types.js';
import type { EventListener, EventLog, StoredEvent, Unsubscribe } from '../../core/ports/event-log.port.js';
import type { SqliteHandle } from './sqlite.db.js';

/**
 * The embedded event log: the `events` table of the shared SQLite file. Writers in this process
 * wake readers as soon as their transaction commits; events written by other processes on the same
 * file (workers) are found by a short poll (`pollMs`, default 25 ms) that runs only while someone
 * listens. SQLite serialises writers, so ids commit in order and a reader following them sees no gaps.
 */
export class SqliteEventLog implements EventLog {
  private readonly listeners = new Map<string, Set<EventListener>>();
  private readonly s: Record<'append' | 'read' | 'last' | 'prune', Statement>;
  private seen = 0;
  private timer: NodeJS.Timeout | null = null;
  private stopWake: (() => void) | null = null;
  private closed = false;
  private draining = false;
  private again = false;

  constructor(private readonly h: SqliteHandle, private readonly pollMs = 25) {
    const db = h.db;
    this.s = {
      append: db.prepare('INSERT INTO events (job_id, data, created_at) VALUES (?, ?, ?)'),
      read: db.prepare('SELECT id, data FROM events WHERE id > ? ORDER BY id LIMIT ?'),
      last: db.prepare('SELECT coalesce(max(id), 0) AS id FROM events'),
      prune: db.prepare('DELETE FROM events WHERE created_at < ?'),
    };
  }

  async append(event: JobEvent): Promise<number> {
    const id = this.h.tx(() => Number(this.s.append.run(event.jobId, JSON.stringify(event), Date.now()).lastInsertRowid));
    return id;
  }

  async read(afterId: number, limit: number): Promise<StoredEvent[]> {
    return (this.s.read.all(afterId, limit) as Array<{ id: number; data: string }>).map((r) => ({ id: r.id, event: JSON.parse(r.data) as JobEvent }));
  }

  lastIdSync(): number {
    return (this.s.last.get() as { id: number }).id;
  }

  async lastId(): Promise<number> {
    return this.lastIdSync();
  }

  subscribe(jobId: string, listener: EventListener): Unsubscribe {
    if (this.listeners.size === 0) this.start();
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(jobId);
      if (this.listeners.size === 0) this.stop();
    };
  }

  private start() {
    if (this.closed) return;
    // Synchronous, so that a subscriber sees every event committed after subscribe() returns.
    this.seen = this.lastIdSync();
    this.timer = setInterval(() => this.drain(), this.pollMs);
    this.timer.unref();
    this.stopWake = this.h.onCommit(() => this.drain());
  }

  private stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.stopWake?.();
    this.stopWake = null;
  }

  /** Delivers every event after the last one seen, in order (synchronous: no interleaving). */
  private drain() {
    if (this.listeners.size === 0 || !this.h.db.open) return;
    // A listener that writes (and so commits) re-enters here: finish this pass first, then go again,
    // so that events are delivered in id order.
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      for (;;) {
        const batch = this.s.read.all(this.seen, 500) as Array<{ id: number; data: string }>;
        for (const row of batch) {
          this.seen = row.id;
          const event = JSON.parse(row.data) as JobEvent;
          for (const key of [event.jobId, '*']) {
            for (const l of this.listeners.get(key) ?? []) {
              try { l(event, row.id); } catch { /* a listener's failure is its own */ }
            }
          }
        }
        if (batch.length < 500) break;
      }
    } catch {
      // The file is busy or closing: the next poll tries again.
    } finally {
      this.draining = false;
    }
    if (this.again) {
      this.again = false;
      this.drain();
    }
  }

  async prune(olderThan: Date): Promise<void> {
    this.h.tx(() => this.s.prune.run(olderThan.getTime()));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    this.listeners.clear();
  }
}
