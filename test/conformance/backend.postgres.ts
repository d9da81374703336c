import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migratePostgres } from '../../src/adapters/postgres/postgres.migrations.js';

/**
 * PostgreSQL for the tests: the server at TEST_POSTGRES_URL (default: the local one,
 * trust auth), on which each test file makes its own database and drops it at the end.
 */
export const ADMIN_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function admin() {
  return postgres(ADMIN_URL, { max: 1, connect_timeout: 3, fetch_types: false, onnotice: () => {} });
}

/** Whether the test server answers; suites skip (saying why) when it does not. */
export async function postgresBackendAvailable(): Promise<boolean> {
  const sql = admin();
  try {
    await sql`SELECT 1`;
    return true;
  } catch {
    return false;
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {});
  }
}

/** A fresh database `mediaflow_test_<random>`, migrated unless `migrate: false`; `drop()` removes it. */
export async function createPostgresDatabase(opts: { migrate?: boolean } = {}): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `mediaflow_test_${randomBytes(6).toString('hex')}`;
  const sql = admin();
  try {
    await sql`CREATE DATABASE ${sql(name)}`;
  } finally {
    await sql.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  if (opts.migrate ?? true) await migratePostgres(url.toString());
  return {
    url: url.toString(),
    async drop() {
      const sql = admin();
      try {
        // FORCE: a pool a failed test left open must not keep the database alive.
        await sql`DROP DATABASE IF EXISTS ${sql(name)} WITH (FORCE)`;
      } finally {
        await sql.end();
      }
    },
  };
}
