import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import { isSafeOutputName } from '../util/safe-name.js';
import type { OutputInfo, ProcessorContext } from '../core/processor.types.js';

export interface LocalContextOptions {
  config: AppConfig;
  /** Folder the outputs are written to. */
  outDir: string;
  jobId?: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number, stage?: string) => void;
  onLog?: (message: string, level: string) => void;
  onOutput?: (info: OutputInfo) => void;
}

/**
 * A ProcessorContext that writes outputs straight into a folder: used by `mediaflow run` and by the
 * processors' own tests. (The worker's context stores outputs in the blob store instead.)
 */
export async function createLocalContext(opts: LocalContextOptions): Promise<ProcessorContext & { outputs: OutputInfo[]; dispose(): Promise<void> }> {
  await mkdir(opts.outDir, { recursive: true });
  const tmpdir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-'));
  const outputs: OutputInfo[] = [];
  const controller = new AbortController();
  if (opts.signal) {
    if (opts.signal.aborted) controller.abort(opts.signal.reason);
    else opts.signal.addEventListener('abort', () => controller.abort(opts.signal!.reason), { once: true });
  }
  return {
    jobId: opts.jobId ?? 'local',
    attempt: 1,
    signal: controller.signal,
    tmpdir,
    config: opts.config,
    outputs,
    progress: (f, stage) => opts.onProgress?.(Math.max(0, Math.min(1, f)), stage),
    log: (m, level = 'info') => opts.onLog?.(m, level),
    async output(name, source, mime) {
      if (!isSafeOutputName(name)) throw new MediaflowError('INTERNAL', `unsafe output name ${JSON.stringify(name)}`);
      const dest = path.join(opts.outDir, name);
      const part = `${dest}.part-${process.pid}`;
      const hash = createHash('sha256');
      const input = typeof source === 'string' ? createReadStream(source) : Buffer.isBuffer(source) ? Readable.from([source]) : source;
      let size = 0;
      await pipeline(input, async function* (chunks: AsyncIterable<Buffer>) {
        for await (const c of chunks) { hash.update(c); size += c.length; yield c; }
      }, createWriteStream(part));
      await rename(part, dest);
      const info: OutputInfo = { name, size, mime, sha256: hash.digest('hex') };
      const i = outputs.findIndex((o) => o.name === name);
      if (i >= 0) outputs[i] = info; else outputs.push(info);
      opts.onOutput?.(info);
      return info;
    },
    async dispose() {
      await rm(tmpdir, { recursive: true, force: true });
    },
  };
}

/** Builds a FileInput for a file on disk (used by `mediaflow run` and tests). */
export async function fileInputFromPath(file: string, mime: string): Promise<{ kind: 'file'; path: string; name: string; mime: string; size: number; sha256: string }> {
  const st = await stat(file);
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { kind: 'file', path: path.resolve(file), name: path.basename(file), mime, size: st.size, sha256: hash.digest('hex') };
}
