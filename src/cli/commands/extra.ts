import type { Command } from 'commander';

/** Commands of individual processors (record-stream, download, models). */
export function registerExtraCommands(_program: Command) {
  // Registered by the processors' own command modules.
}
