import { spawn } from 'node:child_process';
import { MediaflowError } from '../../core/errors.js';
import { toolMissing, type ToolName } from './tools.names.js';

/** What a finished run of an external program left behind. */
export interface ToolRun {
  code: number | null;
  stdout: Buffer;
  /** The tail of stderr (at most 64 KiB), for error messages. */
  stderr: string;
}

export interface ToolRunOptions {
  /** Kills the program (SIGKILL) and rejects with the signal's reason when it fires. */
  signal?: AbortSignal;
  /** Largest stdout kept; more is an error (default 16 MiB: probes are small, samples go to files). */
  maxStdout?: number;
  /** The tool `bin` is, for the `TOOL_MISSING` message (which configuration key to set). */
  tool?: ToolName;
}

const STDERR_KEEP = 64 * 1024;

/**
 * Runs an external program to completion. A missing binary becomes `TOOL_MISSING` (the
 * configured path is wrong or the tool is not installed), never a crash; a non-zero exit is
 * returned, not thrown, because what it means (corrupt input or a fault) depends on the caller.
 */
export function runTool(bin: string, args: readonly string[], opts: ToolRunOptions = {}): Promise<ToolRun> {
  const maxStdout = opts.maxStdout ?? 16 << 20;
  return new Promise((resolve, reject) => {
    opts.signal?.throwIfAborted();
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outSize = 0;
    let err = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(opts.signal!.reason));
    };
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout.on('data', (c: Buffer) => {
      outSize += c.length;
      if (outSize > maxStdout) {
        child.kill('SIGKILL');
        finish(() => reject(new MediaflowError('INTERNAL', `${bin} printed more than ${maxStdout} bytes`)));
        return;
      }
      out.push(c);
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString('utf8');
      if (err.length > STDERR_KEEP * 2) err = err.slice(-STDERR_KEEP);
    });
    child.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(e.code === 'ENOENT'
      ? (opts.tool ? toolMissing(opts.tool, bin, e) : new MediaflowError('TOOL_MISSING', `${bin} was not found`, { cause: e }))
      : new MediaflowError('INTERNAL', `could not start ${bin}: ${e.message}`, { cause: e }))));
    child.on('close', (code) => finish(() => resolve({ code, stdout: Buffer.concat(out), stderr: err.slice(-STDERR_KEEP) })));
  });
}

/** The first meaningful line of a tool's stderr, for an error message a user can act on. */
export function firstErrorLine(stderr: string): string {
  const line = stderr.split('\n').map((l) => l.trim()).find((l) => l.length > 0) ?? '';
  // ffmpeg prefixes lines with the input path, which means nothing to a client of the API.
  return line.replace(/^[^:]*\/[^:]*: /, '').slice(0, 300);
}
