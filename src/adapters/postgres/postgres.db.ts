import { Kysely } from 'kysely';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { Schema } from './postgres.rows.js';

export interface PgOptions {
  /** Connections in this process's pool (`postgres.poolSize`). */
  poolSize?: number;
}

/**
 * One connection pool shared by a process's PostgreSQL adapters (job store, event log, lease
 * records). Each adapter retains it and releases it on `close()`; the pool ends with the last one,
 * so closing the store does not pull the connections from under the event log.
 */
export class PgDb {
  readonly sql: postgres.Sql;
  readonly db: Kysely<Schema>;
  private users = 0;
  private ended: Promise<void> | null = null;

  constructor(readonly url: string, opts: PgOptions = {}) {
    this.sql = postgres(url, {
      max: opts.poolSize ?? 10,
      // Fail a query fast while the server is unreachable (the caller answers 503) instead of
      // holding it for the driver's default 30 s.
      connect_timeout: 5,
      // Idle connections are closed, so a server restart leaves no stale sockets behind.
      idle_timeout: 30,
      // "relation already exists, skipping" and the like are not worth a log line.
      onnotice: () => {},
    });
    this.db = new Kysely<Schema>({ dialect: new PostgresJSDialect({ postgres: this.sql }) });
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
    // Kysely's destroy ends the postgres.js instance (and its LISTEN connection) too.
    this.ended ??= this.db.destroy();
    return this.ended;
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
  /** Event inserts: one writer at a time from the id allocation to the commit (postgres.events.ts). */
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
