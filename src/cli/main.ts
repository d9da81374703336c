#!/usr/bin/env node
import { Command } from 'commander';
import { ConfigError } from '../config/load-config.js';
import { registerServe } from './commands/serve.js';
import { registerWorker } from './commands/worker.js';
import { registerRun } from './commands/run.js';
import { registerJobs } from './commands/jobs.js';
import { registerMigrate } from './commands/migrate.js';
import { registerExtraCommands } from './commands/extra.js';
import { registerModels } from './commands/models.js';

const program = new Command()
  .name('mediaflow')
  .description('Self-hosted media machine-learning job server: OCR, vocal separation, upscaling, segmentation, downloads and stream recording.')
  .version('0.1.0')
  .showHelpAfterError();

registerServe(program);
registerWorker(program);
registerRun(program);
registerJobs(program);
registerMigrate(program);
registerExtraCommands(program);
registerModels(program);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  const e = err as { code?: string; message?: string };
  console.error(`error${e.code ? ` [${e.code}]` : ''}: ${e.message ?? String(err)}`);
  process.exit(1);
});
