import path from 'node:path';
import type { Command } from 'commander';
import { openSqlite } from '../../adapters/sqlite/sqlite.db.js';
import { configFrom, withConfigOptions } from '../options.js';

export function registerMigrate(program: Command) {
  withConfigOptions(program.command('migrate'))
    .description('create or upgrade the database schema (distributed mode: PostgreSQL and the S3 bucket), then exit')
    .action(async (opts) => {
      const config = configFrom(opts);
      if (config.mode === 'distributed') {
        const { migrateDistributed } = await import('../../runtime.distributed.js');
        const applied = await migrateDistributed(config);
        console.log(`PostgreSQL schema up to date (${applied.length ? `applied ${applied.join(', ')}` : 'nothing to apply'}); bucket ${config.s3.bucket} ready`);
        return;
      }
      const db = openSqlite(path.join(config.data, 'mediaflow.db'));
      console.log(`database ${path.join(config.data, 'mediaflow.db')} at schema version ${db.pragma('user_version', { simple: true })}`);
      db.close();
    });
}
