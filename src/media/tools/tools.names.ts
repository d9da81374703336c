import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../core/errors.js';

/** The external programs Mediaflow runs, the configuration key that names each, and how it tells its version. */
export const TOOLS = {
  ffmpeg: { configKey: 'ffmpeg', versionArgs: ['-version'] },
  ffprobe: { configKey: 'ffprobe', versionArgs: ['-version'] },
  'yt-dlp': { configKey: 'ytDlp', versionArgs: ['--version'] },
} as const satisfies Record<string, { configKey: keyof AppConfig['tools']; versionArgs: readonly string[] }>;

export type ToolName = keyof typeof TOOLS;

/** The command configured for a tool (`tools.ffmpeg`, `tools.ffprobe`, `tools.ytDlp`). */
export function toolCommand(name: ToolName, config: AppConfig): string {
  return config.tools[TOOLS[name].configKey];
}

/** The error for a program that is not there, with what to do about it. */
export function toolMissing(name: ToolName, command: string, cause?: unknown): MediaflowError {
  return new MediaflowError('TOOL_MISSING', `${name} was not found (${command}); install it or set tools.${TOOLS[name].configKey}`, { cause, details: { tool: name, command } });
}
