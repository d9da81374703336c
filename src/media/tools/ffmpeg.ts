import type { AppConfig } from '../../config/config.schema.js';
import { toolCommand } from './tools.names.js';
import { runTool, type ToolRun, type ToolRunOptions } from './tools.run.js';

/**
 * Runs the configured ffmpeg to completion, quiet but for errors and never reading stdin (a job
 * has no terminal). The signal kills it; a non-zero exit is returned for the caller to judge.
 */
export function runFfmpeg(config: AppConfig, args: readonly string[], opts: Omit<ToolRunOptions, 'tool'> = {}): Promise<ToolRun> {
  return runTool(toolCommand('ffmpeg', config), ['-nostdin', '-hide_banner', '-v', 'error', ...args], { ...opts, tool: 'ffmpeg' });
}
