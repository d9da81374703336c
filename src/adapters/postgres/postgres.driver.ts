import {
  CompiledQuery, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Driver, type Kysely, type QueryResult, type TransactionSettings,
} from 'kysely';
import type postgres from 'postgres';
import { isPostgresUnavailable } from './postgres.errors.js';

/**
 * Kysely on postgres.js, written for the day the server goes away.
 *
 * postgres.js 3.4.9 crashes the process (an uncatchable TypeError from `nextWrite` on a null socket;
 * porsager/postgres#1154, #1208, unfixed at the time of writing) when anything is written to a
 * connection that already closed. A generic driver (kysely-postgres-js) does exactly that during an
 * outage: it holds connections with `reserve()`, sends ROLLBACK on the one whose query just failed
 * and releases it into the pool, where the next query picks it up; and `reserve()` cannot be used
 * without the per-connection array-type lookup, whose promise the driver leaves unhandled when the
 * server vanishes during it (porsager/postgres#1219). So:
 *
 * - a statement outside a transaction is a plain pooled query: postgres.js never hands out a
 *   closed pooled connection, it reconnects it first;
 * - a transaction is `sql.begin()`, which rejects as soon as its connection closes. We watch that
 *   rejection: after it nothing more is sent on the connection — no next statement, no ROLLBACK,
 *   no COMMIT (the server has rolled back already). The callback handed to `begin` is then left
 *   unsettled, since settling it makes postgres.js write ROLLBACK or COMMIT itself.
 */
export class OutageSafeDialect implements Dialect {
  constructor(private readonly sql: postgres.Sql) {}
  createAdapter() { return new PostgresAdapter(); }
  createDriver() { return new OutageSafeDriver(this.sql); }
  createIntrospector(db: Kysely<any>) { return new PostgresIntrospector(db); }
  createQueryCompiler() { return new PostgresQueryCompiler(); }
}

/** Thrown into the `begin` callback to make postgres.js roll back a transaction on a live connection. */
class Rollback extends Error {}

/** How long a transaction whose statement failed with a connection error waits for its connection to close. */
const CLOSE_WAIT_MS = 10_000;

class Tx {
  sql: postgres.TransactionSql | null = null;
  /** Set once `begin` rejected: the connection is gone, nothing may be sent on it. */
  closedError: unknown = null;
  /** A statement failed with a connection error: the connection is closing or closed. */
  failedOnConnection = false;
  settle!: { resolve(): void; reject(err: unknown): void };
  finished!: Promise<void>;
}

class Connection implements DatabaseConnection {
  tx: Tx | null = null;

  constructor(private readonly sql: postgres.Sql) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const tx = this.tx;
    if (tx?.closedError) throw tx.closedError;
    const target = tx ? tx.sql! : this.sql;
    try {
      const result = await target.unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[]);
      const { command, count } = result;
      const changed = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
      return { numAffectedRows: changed ? BigInt(count) : undefined, rows: Array.from(result.values()) as R[] };
    } catch (err) {
      if (tx && isPostgresUnavailable(err)) tx.failedOnConnection = true;
      throw err;
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming queries are not used by the PostgreSQL adapter');
  }
}

class OutageSafeDriver implements Driver {
  constructor(private readonly sql: postgres.Sql) {}

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    return new Connection(this.sql);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    if (settings.isolationLevel || settings.accessMode) throw new Error('Transaction settings are not supported by this driver');
    const c = connection as Connection;
    const tx = new Tx();
    await new Promise<void>((started, failed) => {
      let open = false;
      const body = new Promise<void>((resolve, reject) => (tx.settle = { resolve, reject }));
      tx.finished = this.sql.begin(async (sql) => {
        tx.sql = sql;
        open = true;
        started();
        await body;
      }).then(() => {}, (err: unknown) => {
        tx.closedError = err;
        if (!open) failed(err);
        throw err;
      });
      // Observed through `finished` by commit/rollback; never left unhandled.
      tx.finished.catch(() => {});
    });
    c.tx = tx;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const tx = (connection as Connection).tx!;
    if (tx.closedError) throw tx.closedError;
    tx.settle.resolve();
    await tx.finished;
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const tx = (connection as Connection).tx!;
    if (tx.closedError) return;
    if (tx.failedOnConnection) {
      // The connection is going: `begin` rejects when it closes, and the server rolls back.
      // Should it somehow stay open, roll back on it after a while rather than hold it forever.
      const timer = setTimeout(() => tx.settle.reject(new Rollback()), CLOSE_WAIT_MS);
      await tx.finished.catch(() => {});
      clearTimeout(timer);
      return;
    }
    tx.settle.reject(new Rollback());
    await tx.finished.catch((err) => {
      if (!(err instanceof Rollback)) throw err;
    });
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    (connection as Connection).tx = null;
  }

  async destroy(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

