import path from 'node:path';
import type { Command } from 'commander';
import { migratePostgres, POSTGRES_MIGRATIONS } from '../../adapters/postgres/postgres.migrations.js';
import { openSqlite } from '../../adapters/sqlite/sqlite.db.js';
import { configFrom, withConfigOptions } from '../options.js';

export function registerMigrate(program: Command) {
  withConfigOptions(program.command('migrate'))
    .description('create or upgrade the database schema, then exit')
    .action(async (opts) => {
      const config = configFrom(opts);
      if (config.mode === 'distributed') {
        if (!config.postgres.url) throw new Error('distributed mode needs postgres.url (MEDIAFLOW_POSTGRES_URL or the config file)');
        const applied = await migratePostgres(config.postgres.url);
        const url = new URL(config.postgres.url);
        url.password = '';
        console.log(`database ${url.toString()} at schema version ${POSTGRES_MIGRATIONS.at(-1)}${applied.length ? ` (applied ${applied.join(', ')})` : ''}`);
        return;
      }
      const db = openSqlite(path.join(config.data, 'mediaflow.db'));
      console.log(`database ${path.join(config.data, 'mediaflow.db')} at schema version ${db.pragma('user_version', { simple: true })}`);
      db.close();
    });
}
