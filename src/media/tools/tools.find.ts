import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../core/errors.js';
import { TOOLS, toolCommand, toolMissing, type ToolName } from './tools.names.js';
import { runTool } from './tools.run.js';

/** A program found on disk, and the version it reports. */
export interface FoundTool {
  name: ToolName;
  /** As configured (`tools.<key>`): a bare name looked up on PATH, or a path. */
  command: string;
  /** The executable file it resolved to. */
  path: string;
  /** The first line of its version output, without the program's name and copyright. */
  version: string;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The executable a command names: a path as given, or a bare name searched on PATH as a shell would. */
export async function locateExecutable(command: string, envPath = process.env.PATH ?? ''): Promise<string | null> {
  if (command.includes('/')) return (await isExecutable(path.resolve(command))) ? path.resolve(command) : null;
  for (const dir of envPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, command);
    if (await isExecutable(candidate)) return candidate;
  }
  return null;
}

function versionLine(name: ToolName, output: string): string {
  const first = output.trim().split('\n')[0] ?? '';
  return first.replace(new RegExp(`^${name} version `), '').split(' Copyright')[0].trim();
}

// One look-up per configured command and process; a miss is not kept, so a program installed
// later is found by the next check without a restart.
const found = new Map<string, Promise<FoundTool>>();

/**
 * Finds a tool where the configuration says (on PATH for a bare name) and asks its version, once per
 * process. Rejects with `TOOL_MISSING` when it is not there or does not run.
 */
export function findTool(name: ToolName, config: AppConfig): Promise<FoundTool> {
  const command = toolCommand(name, config);
  const key = `${name}\0${command}`;
  let hit = found.get(key);
  if (!hit) {
    hit = lookUp(name, command);
    found.set(key, hit);
    hit.catch(() => found.delete(key));
  }
  return hit;
}

async function lookUp(name: ToolName, command: string): Promise<FoundTool> {
  const file = await locateExecutable(command);
  if (!file) throw toolMissing(name, command);
  const run = await runTool(file, TOOLS[name].versionArgs, { signal: AbortSignal.timeout(15_000), tool: name });
  if (run.code !== 0) {
    const why = (run.stderr || run.stdout.toString('utf8')).trim().split('\n')[0] ?? '';
    throw new MediaflowError('TOOL_MISSING', `${name} (${file}) failed to start: ${why || `exit code ${run.code}`}`, { details: { tool: name, command } });
  }
  return { name, command, path: file, version: versionLine(name, `${run.stdout.toString('utf8')}${run.stderr}`) };
}

/**
 * The readiness check (`/ready`) of a processor that runs these tools: each one's version and where
 * it was found, or why it is not usable.
 */
export async function checkTools(config: AppConfig, ...names: ToolName[]): Promise<{ ok: boolean; detail: string }> {
  const results = await Promise.all(names.map((name) => findTool(name, config).then(
    (t) => ({ ok: true, detail: `${name} ${t.version} (${t.path})` }),
    (err: unknown) => ({ ok: false, detail: (err as Error).message }),
  )));
  return { ok: results.every((r) => r.ok), detail: results.map((r) => r.detail).join('; ') };
}
