import type { Command } from 'commander';
import { loadConfig } from '../../config/load-config.js';
import { runWorkerProcess } from '../../worker/worker-process.js';
import { cliLogger, configFrom, withConfigOptions } from '../options.js';

export function registerWorker(program: Command) {
  withConfigOptions(program.command('worker'))
    .description('run jobs from the data folder\'s queue (split mode: beside `serve --no-workers`)')
    .option('--only <processors>', 'comma-separated processors this worker runs (default all)')
    .option('--child', 'internal: forked by serve')
    .action(async (opts) => {
      const config = process.env.MEDIAFLOW_CONFIG_JSON ? loadConfig() : configFrom(opts);
      await runWorkerProcess(config, { only: opts.only?.split(','), log: cliLogger(config.logLevel) });
    });
}
