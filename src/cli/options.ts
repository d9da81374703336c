import { Option, type Command } from 'commander';
import type { AppConfig } from '../config/config.schema.js';
import { loadConfig } from '../config/load-config.js';
import { createLogger, logFn, type LogFn } from '../logging/logger.js';

/** Options every command that opens the data folder shares. */
export function withConfigOptions(cmd: Command): Command {
  return cmd
    .option('--data <dir>', 'data folder: database, files, models (default ./data)')
    .option('--config <file>', 'configuration file (JSON); default <data>/mediaflow.json when present')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'silent']));
}

/** CLI flags → the config's shape; only flags the user gave are set, so file and env still apply. */
export function configFrom(opts: Record<string, unknown>, extra: Record<string, unknown> = {}): AppConfig {
  const flags: Record<string, unknown> = { ...extra };
  if (opts.data !== undefined) flags.data = opts.data;
  if (opts.logLevel !== undefined) flags.logLevel = opts.logLevel;
  return loadConfig({ flags, file: opts.config as string | undefined });
}

/** The logger of CLI-run processes: the same format as the API's (src/logging). */
export function cliLogger(level: string): LogFn {
  return logFn(createLogger(level));
}
