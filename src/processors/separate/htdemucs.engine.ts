import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { MediaflowError } from '../../core/errors.js';
import type { RewriteReply, RewriteSpec } from './htdemucs.rewrite-worker.js';
import { HT, HtSpectrogram } from './htdemucs.spec.js';
import type { SegmentReply, SegmentRequest, WorkerHello, WorkerSpec } from './htdemucs.worker.js';

/** A worker script beside this module: `.ts` when run from source (tsx), `.js` when built. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const script = (name: string) => new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
const WORKER_URL = script('htdemucs.worker');
const REWRITE_URL = script('htdemucs.rewrite-worker');

/** The model's inputs for one segment: the mix (planar [2][segment]) and its spectrogram. */
export interface SegmentInput { mix: Float32Array; mag: Float32Array }
/** The model's outputs for one segment: spectral ([4][4][bins][frames]) and time ([4][2][segment]). */
export interface SegmentOutput { z: Float32Array; xt: Float32Array; modelMs: number }

/**
 * Node 20 does not apply `--import` loader hooks to a worker's entry module, so from source the
 * worker first registers tsx in its own thread, then imports the TypeScript entry.
 */
function newWorker(url: URL, workerData: unknown): Worker {
  if (!FROM_SOURCE) return new Worker(url, { workerData });
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** Bumped whenever htdemucs.graph.ts changes what it writes, so that older cached files are not used. */
const REWRITE_VERSION = 1;

/**
 * The rewritten graph of `source` in `cacheDir`, made on first use: its name follows the source's
 * path, size and modification time, and it is written under a temporary name then renamed, so a
 * reader never sees half a file and two processes starting together both end with a whole one.
 */
async function cachedRewrite(source: string, cacheDir: string): Promise<string> {
  const st = await stat(source);
  const id = createHash('sha256').update(`${REWRITE_VERSION}\u0000${path.resolve(source)}\u0000${st.size}\u0000${st.mtimeMs}`).digest('hex').slice(0, 16);
  const target = path.join(cacheDir, `htdemucs.rewritten-${id}.onnx`);
  if (await stat(target).then((t) => t.size > 0, () => false)) return target;
  await mkdir(cacheDir, { recursive: true });
  const partial = `${target}.${process.pid}.${Date.now()}.partial`;
  try {
    await rewriteGraph({ source, target: partial });
    await rename(partial, target);
  } finally {
    await rm(partial, { force: true });
  }
  return target;
}

/** Runs the graph rewrite (htdemucs.graph.ts) in its own short-lived thread: `source` → `target`. */
function rewriteGraph(spec: RewriteSpec): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = newWorker(REWRITE_URL, spec);
    let reply: RewriteReply | null = null;
    worker.once('message', (r: RewriteReply) => { reply = r; });
    worker.once('error', (err) => reject(new MediaflowError('MODEL_MISSING', `The htdemucs model at ${spec.source} could not be prepared: ${err.message}`, { cause: err })));
    worker.once('exit', () => {
      const r = reply as RewriteReply | null;
      if (r && !('error' in r)) resolve();
      else reject(new MediaflowError('MODEL_MISSING', `The htdemucs model at ${spec.source} could not be prepared: ${r?.error ?? 'the thread stopped'}`));
    });
  });
}

/**
 * The process's htdemucs engine: one worker thread holding one ONNX session, reused by every
 * separation job of the process (loading the 166 MiB model takes seconds). Requests queue in the
 * worker; the thread keeps the process alive only while it has work. The STFT/iSTFT run on the
 * caller's thread, so that they overlap with the model's run on the next segment.
 */
export class HtdemucsEngine {
  private readonly pending = new Map<number, { resolve: (r: SegmentOutput) => void; reject: (e: Error) => void }>();
  private readonly dsp = new HtSpectrogram();
  private nextId = 0;
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker, readonly spec: WorkerSpec) {
    worker.on('message', (msg: SegmentReply) => {
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (this.pending.size === 0) this.worker.unref();
      if ('error' in msg) p.reject(new MediaflowError('PROCESSING_FAILED', `separation failed: ${msg.error.split('\n')[0]}`));
      else p.resolve({ z: msg.z, xt: msg.xt, modelMs: msg.modelMs });
    });
    const fail = (err: Error) => {
      this.dead = err;
      // A dead engine is forgotten, so that the next job starts a fresh worker.
      const cached = engines.get(key(spec));
      cached?.then((e) => { if (e === this && engines.get(key(spec)) === cached) engines.delete(key(spec)); }, () => undefined);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    worker.on('error', (err) => fail(new MediaflowError('INTERNAL', `separation worker failed: ${err.message}`, { cause: err })));
    worker.on('exit', (code) => fail(new MediaflowError('INTERNAL', `separation worker exited (code ${code})`)));
  }

  /**
   * Starts the model's thread on the model with its graph rewritten (htdemucs.graph.ts): the
   * rewritten file is kept in `cacheDir` for the next process, or made in a temporary folder (and
   * removed once the session holds it) when there is no cache folder or it cannot be written.
   */
  static async start(spec: WorkerSpec): Promise<HtdemucsEngine> {
    const cached = spec.cacheDir ? await cachedRewrite(spec.modelPath, spec.cacheDir).catch(() => null) : null;
    if (cached) return HtdemucsEngine.startWorker(spec, cached);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-htdemucs-'));
    try {
      const rewritten = path.join(dir, 'htdemucs.onnx');
      await rewriteGraph({ source: spec.modelPath, target: rewritten });
      return await HtdemucsEngine.startWorker(spec, rewritten);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private static startWorker(spec: WorkerSpec, sessionPath: string): Promise<HtdemucsEngine> {
    return new Promise((resolve, reject) => {
      const worker = newWorker(WORKER_URL, { ...spec, sessionPath } satisfies WorkerSpec);
      const onExit = (code: number) => reject(new MediaflowError('INTERNAL', `separation worker exited while starting (code ${code})`));
      worker.once('exit', onExit);
      worker.once('error', (err) => reject(new MediaflowError('INTERNAL', `separation worker failed to start: ${err.message}`, { cause: err })));
      worker.once('message', (hello: WorkerHello) => {
        worker.off('exit', onExit);
        if ('fatal' in hello) {
          void worker.terminate();
          reject(new MediaflowError('MODEL_MISSING', `The htdemucs model at ${spec.modelPath} could not be loaded: ${hello.fatal}`));
          return;
        }
        const engine = new HtdemucsEngine(worker, spec);
        worker.unref();
        resolve(engine);
      });
    });
  }

  /** Before the model, on the calling thread: the segment's spectrogram (HTDemucs' `_spec`). */
  prepare(mix: Float32Array): SegmentInput {
    return { mix, mag: this.dsp.spec(mix) };
  }

  /** Runs the model on one segment in the model thread (the input buffers are transferred). */
  run(input: SegmentInput): Promise<SegmentOutput> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ id, mix: input.mix, mag: input.mag } satisfies SegmentRequest, [input.mix.buffer as ArrayBuffer, input.mag.buffer as ArrayBuffer]);
    });
  }

  /** After the model, on the calling thread: iSTFT + time branch = planar [4][2][segment] sources. */
  finish(output: SegmentOutput): Float32Array {
    return this.dsp.ispecAdd(output.z, output.xt, HT.sources.length);
  }

  async dispose(): Promise<void> {
    engines.delete(key(this.spec));
    await this.worker.terminate();
  }
}

const key = (s: WorkerSpec) => `${s.modelPath}\u0000${s.threads}\u0000${s.cacheDir ?? ''}`;
const engines = new Map<string, Promise<HtdemucsEngine>>();

/** The engine for this model file and thread count, started on first use and then reused. */
export function getHtdemucsEngine(spec: WorkerSpec): Promise<HtdemucsEngine> {
  let p = engines.get(key(spec));
  if (!p) {
    p = HtdemucsEngine.start(spec);
    engines.set(key(spec), p);
    const started = p;
    p.catch(() => { if (engines.get(key(spec)) === started) engines.delete(key(spec)); });
  }
  return p;
}

/** Stops every engine of this process (worker shutdown, tests). */
export async function shutdownHtdemucs(): Promise<void> {
  const all = [...engines.values()];
  engines.clear();
  for (const p of all) await p.then((e) => e.dispose(), () => undefined);
}
