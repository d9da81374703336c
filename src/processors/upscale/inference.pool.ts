import { Worker } from 'node:worker_threads';
import { MediaflowError, type ErrorCode, ERROR_CATALOGUE } from '../../core/errors.js';
import type { RuntimeSpec } from './runtime.types.js';
import type { CloseRequest, TileReply, TileRequest, WorkerHello } from './inference.worker.js';

/** The worker script beside this module: `.ts` when run from source (tsx), `.js` when built. */
const FROM_SOURCE = import.meta.url.endsWith('.ts');
const WORKER_URL = new URL(FROM_SOURCE ? './inference.worker.ts' : './inference.worker.js', import.meta.url);

/**
 * Node 20 does not apply `--import` loader hooks to a worker's entry module, so from source the
 * worker first registers tsx in its own thread, then imports the TypeScript entry.
 */
function newWorker(spec: RuntimeSpec): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL, { workerData: spec });
  const api = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL.href)}); })`;
  return new Worker(boot, { eval: true, workerData: spec });
}

interface Slot {
  worker: Worker;
  busy: number;
  pending: Map<number, { resolve: (out: Float32Array) => void; reject: (err: Error) => void }>;
}

/**
 * Engines in worker threads, each with a queue of tiles. ONNX gets one worker using all threads
 * (intra-op parallelism); tfjs-wasm, single-threaded in Node, gets one worker per thread so tiles
 * run in parallel.
 */
export class InferencePool {
  readonly scale: number;
  private readonly slots: Slot[];
  private nextId = 0;
  private closed = false;

  private constructor(slots: Slot[], scale: number, readonly spec: RuntimeSpec) {
    this.slots = slots;
    this.scale = scale;
  }

  static async start(spec: RuntimeSpec): Promise<InferencePool> {
    const count = spec.kind === 'tfjs' ? Math.max(1, spec.threads) : 1;
    const perWorker: RuntimeSpec = { ...spec, threads: spec.kind === 'tfjs' ? 1 : spec.threads };
    const started = await Promise.allSettled(Array.from({ length: count }, () => startWorker(perWorker)));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) {
      for (const s of started) if (s.status === 'fulfilled') void s.value.worker.terminate();
      throw (failed as PromiseRejectedResult).reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; scale: number }>).value);
    const pool = new InferencePool(ok.map(({ worker }) => ({ worker, busy: 0, pending: new Map() })), ok[0].scale, spec);
    for (const slot of pool.slots) pool.listen(slot);
    return pool;
  }

  /** Tiles that fit in the pool without queueing more than two per engine. */
  get capacity(): number {
    return this.slots.length * 2;
  }

  private listen(slot: Slot): void {
    slot.worker.on('message', (msg: TileReply) => {
      const p = slot.pending.get(msg.id);
      if (!p) return;
      slot.pending.delete(msg.id);
      slot.busy--;
      if ('error' in msg) p.reject(new MediaflowError('PROCESSING_FAILED', `inference failed: ${msg.error.split('\n')[0]}`));
      else p.resolve(msg.out);
    });
    const fail = (err: Error) => {
      this.closed = true;
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    slot.worker.on('error', (err) => fail(new MediaflowError('INTERNAL', `inference worker failed: ${err.message}`, { cause: err })));
    slot.worker.on('exit', (code) => fail(new MediaflowError('INTERNAL', `inference worker exited (code ${code})`)));
  }

  /** Upscales one tile ([h, w, 3] NHWC 0..255). The buffer is transferred: do not reuse it. */
  run(tile: Float32Array, h: number, w: number): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new MediaflowError('INTERNAL', 'the inference pool is closed'));
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    slot.busy++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, tile, h, w } satisfies TileRequest, [tile.buffer as ArrayBuffer]);
    });
  }

  get idle(): boolean {
    return this.slots.every((s) => s.busy === 0);
  }

  get usable(): boolean {
    return !this.closed;
  }

  /**
   * Stops the engines. Idle ones end at once; a busy one drops its queue and ends when the tile in
   * progress returns (see inference.worker.ts for why it is not terminated), and keeps the process
   * alive until then. Callers that must not wait (cancellation) do not await this.
   */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.slots.map(async (s) => {
      if (s.busy === 0) { await s.worker.terminate(); return; }
      const exited = new Promise<void>((resolve) => s.worker.once('exit', () => resolve()));
      s.worker.ref();
      s.worker.postMessage({ close: true } satisfies CloseRequest);
      await exited;
    }));
  }
}

function startWorker(spec: RuntimeSpec): Promise<{ worker: Worker; scale: number }> {
  return new Promise((resolve, reject) => {
    const worker = newWorker(spec);
    // An idle pool kept for the next job must not keep the process alive.
    worker.unref();
    const onError = (err: Error) => reject(new MediaflowError('INTERNAL', `inference worker failed to start: ${err.message}`, { cause: err }));
    worker.once('error', onError);
    worker.once('message', (hello: WorkerHello) => {
      worker.off('error', onError);
      if ('ready' in hello) { resolve({ worker, scale: hello.scale }); return; }
      void worker.terminate();
      const code = (hello.code && hello.code in ERROR_CATALOGUE ? hello.code : 'INTERNAL') as ErrorCode;
      reject(new MediaflowError(code, hello.fatal));
    });
  });
}

/**
 * One idle pool per engine and model is kept between jobs for `IDLE_MS`, so a queue of upscale
 * jobs does not pay the model load (up to a second for `thick`) each time.
 */
const IDLE_MS = 60_000;
const idlePools = new Map<string, { pool: InferencePool; timer: NodeJS.Timeout }>();

function keyOf(spec: RuntimeSpec): string {
  return `${spec.kind}|${spec.modelPath}|${spec.range}|${spec.threads}`;
}

/** A pool for `spec`, reused from a previous job when one is idle, otherwise started. */
export async function acquirePool(spec: RuntimeSpec): Promise<InferencePool> {
  const key = keyOf(spec);
  const cached = idlePools.get(key);
  if (cached) {
    idlePools.delete(key);
    clearTimeout(cached.timer);
    if (cached.pool.usable) return cached.pool;
    void cached.pool.close();
  }
  return InferencePool.start(spec);
}

/** Gives a pool back after a job. A pool that was interrupted or broke is closed instead. */
export function releasePool(pool: InferencePool, healthy: boolean): void {
  if (!healthy || !pool.usable || !pool.idle) { void pool.close(); return; }
  const key = keyOf(pool.spec);
  const previous = idlePools.get(key);
  if (previous) { clearTimeout(previous.timer); void previous.pool.close(); }
  const timer = setTimeout(() => {
    if (idlePools.get(key)?.pool === pool) idlePools.delete(key);
    void pool.close();
  }, IDLE_MS);
  timer.unref();
  idlePools.set(key, { pool, timer });
}

/** Closes every idle pool (tests and shutdown). */
export async function closeIdlePools(): Promise<void> {
  const all = [...idlePools.values()];
  idlePools.clear();
  await Promise.all(all.map(({ pool, timer }) => { clearTimeout(timer); return pool.close(); }));
}
