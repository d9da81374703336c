import { sql } from 'kysely';
import postgres from 'postgres';
import type { JobEvent } from '../../core/job.types.js';
import type { EventListener, EventLog, StoredEvent, Unsubscribe } from '../../core/ports/event-log.port.js';
import { serialRunner } from '../../util/serial-runner.js';
import { CLIENT_OPTIONS, type PgDb } from './postgres.db.js';
import { EVENTS_CHANNEL, writeEvents } from './postgres.events.js';
import type { Schema } from './postgres.rows.js';

export interface PgEventLogOptions {
  /** Fallback read interval while someone listens, for a notification lost with its connection. */
  pollMs?: number;
}

const BATCH = 500;

/**
 * Job events in the `events` table. Writers append them in the transaction of the change they
 * report and NOTIFY; subscribers here share one LISTEN connection and one reader that follows
 * `pos > last` (postgres.events.ts explains why positions are safe to follow). A notification only says
 * "read now"; the table is the truth, so a missed one costs at most `pollMs` of delay.
 */
export class PgEventLog implements EventLog {
  private readonly pollMs: number;
  private readonly listeners = new Map<string, Set<EventListener>>();
  /** Last id delivered; null until the first subscription has read where "now" is. */
  private last: number | null = null;
  private starting: Promise<void> | null = null;
  /** A client of its own for LISTEN, so the shared pool can be swapped without losing it. */
  private listenClient: postgres.Sql | null = null;
  private listening = false;
  private timer: NodeJS.Timeout | null = null;
  /** The last read failed (server down): on recovery LISTEN is set up again (see `tick`). */
  private outage = false;
  private closed = false;
  private gen = 0;

  constructor(private readonly pg: PgDb, opts: PgEventLogOptions = {}) {
    pg.retain();
    this.pollMs = opts.pollMs ?? 1000;
  }

  /** Appends one event in a transaction of its own and answers its position. */
  async append(event: JobEvent): Promise<number> {
    return this.pg.run(async (db) => {
      const id = await db.transaction().execute(async (trx) => {
        await writeEvents(trx, [event]);
        return (await sql<{ id: string }>`SELECT currval(pg_get_serial_sequence('events', 'id')) AS id`.execute(trx)).rows[0]!.id;
      });
      const row = await db.selectFrom('events').select('pos').where(sql<string>`id`, '=', id).executeTakeFirstOrThrow();
      return Number(row.pos);
    });
  }

  /** Events after position `afterId`, in position order (an event's id here is its position). */
  async read(afterId: number, limit: number): Promise<StoredEvent[]> {
    return this.pg.run(async (db) => {
      const rows = await db.selectFrom('events').select(['pos', 'data'])
        .where(sql<string>`pos`, '>', String(afterId)).orderBy('pos').limit(limit).execute();
      return rows.map((r) => ({ id: Number(r.pos), event: r.data as JobEvent }));
    });
  }

  async lastId(): Promise<number> {
    return this.pg.run(async (db) => {
      const { id } = await db.selectFrom('events').select(sql<string>`coalesce(max(pos), 0)`.as('id')).executeTakeFirstOrThrow();
      return Number(id);
    });
  }

  subscribe(jobId: string, listener: EventListener): Unsubscribe {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    this.start();
    return () => {
      set!.delete(listener);
      if (set!.size === 0 && this.listeners.get(jobId) === set) this.listeners.delete(jobId);
      if (this.listeners.size === 0) void this.stop();
    };
  }

  /** Resolves once subscribers are listening: events appended from then on reach them. */
  async ready(): Promise<void> {
    await this.starting;
  }

  async prune(olderThan: Date): Promise<void> {
    await this.pg.run((db) => db.deleteFrom('events').where('created_at', '<', olderThan).execute());
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    await this.stop();
    await this.pg.release();
  }

  private start(): void {
    if (this.closed || this.timer) return;
    // Bumped by `stop`: a start still waiting for the server gives up instead of reviving state.
    const gen = ++this.gen;
    this.starting = (async () => {
      // Subscribers hear events from now on; each reads its job's current state itself.
      while (this.last === null && gen === this.gen) {
        try {
          const id = await this.lastId();
          if (gen === this.gen) this.last = id;
        } catch {
          await new Promise((r) => setTimeout(r, this.pollMs));
        }
      }
      if (gen === this.gen) await this.listen();
    })();
    this.timer = setInterval(() => this.tick(), this.pollMs);
    this.timer.unref();
  }

  /**
   * LISTEN on a connection of its own. postgres.js re-issues LISTEN when that connection closes;
   * its third argument runs after every (re)LISTEN, and since notifications may have been missed
   * meanwhile, it reads at once.
   */
  private async listen(): Promise<void> {
    if (this.closed || this.listening) return;
    const client = (this.listenClient ??= postgres(this.pg.url, { ...CLIENT_OPTIONS, max: 1 }));
    try {
      await client.listen(EVENTS_CHANNEL, () => this.tick(), () => this.tick());
      if (client === this.listenClient) this.listening = true;
      else await client.end({ timeout: 1 }).catch(() => {});
    } catch {
      // Server unreachable: the poll keeps reading and `tick` sets LISTEN up again once reads succeed.
      this.outage = true;
    }
  }

  private async dropListen(): Promise<void> {
    const client = this.listenClient;
    this.listenClient = null;
    this.listening = false;
    await client?.end({ timeout: 1 }).catch(() => {});
  }

  private async stop(): Promise<void> {
    this.gen++;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.starting = null;
    // A later first subscriber starts from its own "now".
    this.last = null;
    await this.dropListen();
  }

  /** Reads and delivers what is new; one reader at a time, and a wake-up during a read reads once more. */
  private readonly tick = serialRunner(async () => {
    if (this.last === null || this.listeners.size === 0) return;
    try {
      for (;;) {
        const batch = await this.read(this.last, BATCH);
        this.deliver(batch);
        if (batch.length < BATCH || this.last === null) break;
      }
      if (this.outage) await this.relisten();
    } catch {
      // Server down: the poll tries again; once reads succeed, LISTEN is set up anew.
      this.outage = true;
    }
  });

  /**
   * After an outage: postgres.js re-issues LISTEN when its connection closes, but gives up if the
   * server refuses that first reconnect, and a connection that closed mid-write may never speak
   * again. A new client is cheap and leaves no doubt; wake-ups are instant again, not left to the poll.
   */
  private async relisten(): Promise<void> {
    this.outage = false;
    await this.dropListen();
    await this.listen();
  }

  private deliver(batch: StoredEvent[]): void {
    for (const { id, event } of batch) {
      if (this.last === null) return;
      this.last = id;
      for (const key of [event.jobId, '*']) {
        for (const l of this.listeners.get(key) ?? []) {
          try {
            l(event, id);
          } catch {
            // A listener's failure is its own; the others still get the event.
          }
        }
      }
    }
  }
}
