import {
  CompiledQuery, PostgresAdapter, PostgresDriver, PostgresIntrospector, PostgresQueryCompiler,
  type DatabaseConnection, type Dialect, type Kysely, type QueryResult,
} from 'kysely';
import type postgres from 'postgres';
import { isPostgresUnavailable } from './postgres.errors.js';

/**
 * Kysely on postgres.js, like `kysely-postgres-js`, but safe when the server goes away.
 *
 * postgres.js 3.4.9 crashes the process (an uncatchable TypeError from `nextWrite` on a null
 * socket; porsager/postgres#1154, #1208, unfixed at the time of writing) when anything is written
 * to a connection that already closed. A generic driver does exactly that during an outage: it
 * sends ROLLBACK on the connection whose query just failed, and releases that connection back into
 * the pool, where the next query picks it up. Here a connection that failed with a connection
 * error is dead: no statement is sent on it again and it is never released (postgres.js already
 * moved it to its closed set, from which it reconnects cleanly).
 */
class SafeConnection implements DatabaseConnection {
  dead: unknown = null;

  constructor(readonly reserved: postgres.ReservedSql) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    if (this.dead) throw this.dead;
    try {
      const result = await this.reserved.unsafe(query.sql, query.parameters as postgres.ParameterOrJSON<never>[]);
      const { command, count } = result;
      const changed = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
      return { numAffectedRows: changed ? BigInt(count) : undefined, rows: Array.from(result.values()) as R[] };
    } catch (err) {
      if (isPostgresUnavailable(err)) this.dead = err;
      throw err;
    }
  }

  // eslint-disable-next-line require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming queries are not used by the PostgreSQL adapter');
  }
}

class SafeDriver extends PostgresDriver {
  constructor(private readonly sql: postgres.Sql) {
    super({ pool: undefined as never });
  }

  override async init(): Promise<void> {}

  override async acquireConnection(): Promise<DatabaseConnection> {
    return new SafeConnection(await this.sql.reserve());
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    // The server rolls back by itself when the connection drops.
    if ((connection as SafeConnection).dead) return;
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  override async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const c = connection as SafeConnection;
    if (!c.dead) c.reserved.release();
  }

  override async destroy(): Promise<void> {
    await this.sql.end({ timeout: 5 });
  }
}

export class SafePostgresJSDialect implements Dialect {
  constructor(private readonly sql: postgres.Sql) {}
  createAdapter() { return new PostgresAdapter(); }
  createDriver() { return new SafeDriver(this.sql); }
  createIntrospector(db: Kysely<any>) { return new PostgresIntrospector(db); }
  createQueryCompiler() { return new PostgresQueryCompiler(); }
}
