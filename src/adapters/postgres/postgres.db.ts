import { Kysely } from 'kysely';
import postgres from 'postgres';
import { MediaflowError } from '../../core/errors.js';
import { OutageSafeDialect } from './postgres.driver.js';
import { hasSqlState, isPostgresUnavailable, toStoreError } from './postgres.errors.js';
import type { Schema } from './postgres.rows.js';

export interface PgOptions {
  /** Connections in this process's pool (`postgres.poolSize`). */
  poolSize?: number;
}

/** What every postgres.js client of the adapter shares (pool, LISTEN, migrations). */
export const CLIENT_OPTIONS = {
  // Fail a query fast while the server is unreachable (the caller answers 503) instead of holding
  // it for the driver's default 30 s.
  connect_timeout: 5,
  // postgres.js 3.4.9 runs an array-type lookup on every new connection and leaves its promise
  // unhandled: a server going away during it becomes an unhandled rejection, which ends a Node
  // process. We bind no array parameters and read no array columns, so we do without it (which
  // also rules out `reserve()`, see postgres.driver.ts).
  fetch_types: false,
  // "relation already exists, skipping" and the like are not worth a log line.
  onnotice: () => {},
} satisfies postgres.Options<Record<string, never>>;

interface Pool {
  sql: postgres.Sql;
  db: Kysely<Schema>;
}

/**
 * One connection pool shared by a process's PostgreSQL adapters (job store, event log, lease
 * records). Each adapter retains it and releases it on `close()`; the pool ends with the last one,
 * so closing the store does not pull the connections from under the event log.
 *
 * Every adapter call goes through `run`, which turns an outage into STORE_UNAVAILABLE and, on the
 * first such error, swaps in a fresh pool. postgres.js reconnects by itself, but a connection that
 * closed with a write pending keeps a stale write timer and never sends its start-up message again
 * (it would time out on every later use); a new pool has no such leftovers. In-flight calls finish
 * on the old pool, which is then ended.
 */
export class PgDb {
  private pool: Pool;
  private users = 0;
  private ended: Promise<void> | null = null;

  constructor(readonly url: string, private readonly opts: PgOptions = {}) {
    this.pool = this.createPool();
  }

  /** The current pool's postgres.js instance (for one-off statements; adapters use `run`). */
  get sql(): postgres.Sql {
    return this.pool.sql;
  }

  async run<T>(fn: (db: Kysely<Schema>) => Promise<T>): Promise<T> {
    const pool = this.pool;
    if (this.ended) throw new MediaflowError('STORE_UNAVAILABLE', 'The PostgreSQL connection pool is closed');
    try {
      return await fn(pool.db);
    } catch (err) {
      if (isPostgresUnavailable(err)) this.recycle(pool);
      // A call that began on a pool retired meanwhile may fail for that alone ("driver has
      // already been destroyed"): that is the outage too, not a fault of the statement.
      else if (pool !== this.pool && !hasSqlState(err)) throw new MediaflowError('STORE_UNAVAILABLE', 'PostgreSQL was unavailable', { cause: err });
      throw toStoreError(err);
    }
  }

  retain(): this {
    this.users++;
    return this;
  }

  async release(): Promise<void> {
    if (--this.users <= 0) await this.end();
  }

  /** Ends the pool now, whoever still uses it (idempotent). */
  end(): Promise<void> {
    this.ended ??= this.pool.db.destroy();
    return this.ended;
  }

  private createPool(): Pool {
    const sql = postgres(this.url, {
      ...CLIENT_OPTIONS,
      max: this.opts.poolSize ?? 10,
      // Idle connections are closed, so a quiet process holds no sockets a restart would break.
      idle_timeout: 30,
    });
    return { sql, db: new Kysely<Schema>({ dialect: new OutageSafeDialect(sql) }) };
  }

  private recycle(pool: Pool): void {
    // Only the pool that failed is replaced: during an outage each call fails on a fresh pool
    // once, and the first successful one after it is back keeps it.
    if (pool !== this.pool || this.ended) return;
    this.pool = this.createPool();
    void pool.db.destroy().catch(() => {});
  }
}

export function openPostgres(url: string, opts: PgOptions = {}): PgDb {
  return new PgDb(url, opts);
}

/**
 * Namespaces of the two-key transaction advisory locks (`pg_advisory_xact_lock(ns, key)`), so
 * Mediaflow's locks never collide with each other or with another application's one-key locks.
 */
export const LOCK = {
  /** Event positions: one transaction at a time from numbering its events to its commit (postgres.events.ts, migration 005). */
  events: 0x4d460001,
  /** Claims of one processor's jobs (key: hashtext(processor)): the concurrency count stays exact. */
  claim: 0x4d460002,
  /** Submits sharing a dedup key (key: hashtext(dedup_key)). */
  dedup: 0x4d460003,
  /** Submits sharing an Idempotency-Key (key: hashtext(idempotency_key)). */
  idempotency: 0x4d460004,
  /** Schema migrations (session lock, key 0). */
  migrate: 0x4d460005,
} as const;
