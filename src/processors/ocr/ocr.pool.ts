import { mkdtemp, rm, symlink, copyFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type Tesseract from 'tesseract.js';
import { MediaflowError } from '../../core/errors.js';
import type { ResolvedLanguages } from './ocr.languages.js';

/**
 * A per-process pool of tesseract.js workers, keyed by language set + page segmentation mode.
 *
 * Why pool: a tesseract.js worker is a worker thread holding a WebAssembly Tesseract with the
 * language model loaded; creating one costs a few hundred milliseconds and tens of MB, as much as
 * recognising a small page. Workers are created lazily, reused across jobs, and given back when idle.
 *
 * Why not tesseract.js's `createScheduler`: a scheduler owns a fixed set of workers of one language
 * and cannot remove one, so it cannot bound the total across languages or give an idle `eng` worker's
 * slot to a `fra` job. This pool holds at most `size` workers in all; a job for a new key evicts the
 * least recently used idle worker of another key when the pool is full, and waits (FIFO) when every
 * worker is busy.
 *
 * Cancellation: Tesseract cannot stop in the middle of a page (the recognition call is one
 * synchronous WebAssembly call inside the worker thread). When the job's signal fires during
 * recognition, the worker's thread is terminated instead, which stops the work at once; the pool
 * replaces it on the next job.
 */

export interface OcrPoolKey {
  langs: ResolvedLanguages;
  /** Tesseract page segmentation mode. */
  psm: number;
}

export interface OcrPoolOptions {
  /** Most workers alive at once in this process (all keys together). Default: 2. */
  size?: number;
  /** An idle worker is terminated after this long unused, giving its memory back. Default: 5 minutes. */
  idleTimeoutMs?: number;
  /** Longest time to wait for a new worker to load its language data. Default: 60 s. */
  createTimeoutMs?: number;
}

export interface OcrPoolStats {
  size: number;
  /** Workers alive now (busy + idle). */
  workers: number;
  busy: number;
  idle: number;
  /** Workers being created now. */
  creating: number;
  /** Jobs waiting for a worker. */
  waiting: number;
  /** Workers created / terminated since the process started (or since `resetStats`). */
  created: number;
  terminated: number;
  /** Recognitions run. */
  jobs: number;
  /** Live workers per key (`eng|psm3`). */
  keys: Record<string, number>;
}

export interface RecognizeOptions {
  /** Tesseract parameters for this call only (restored afterwards), e.g. `{ user_defined_dpi: '300' }`. */
  params?: Record<string, string>;
  output: Partial<Tesseract.OutputFormats>;
  signal?: AbortSignal;
  /** Recognition progress of this call, 0..1. */
  onProgress?: (fraction: number) => void;
}

interface PooledWorker {
  id: number;
  key: string;
  label: string;
  api: Tesseract.Worker;
  thread: import('node:worker_threads').Worker;
  busy: boolean;
  lastUsed: number;
  idleTimer?: NodeJS.Timeout;
  /** Rejects when the thread ends; raced against every call so a crashed thread never hangs a job. */
  gone: Promise<never>;
  ended: boolean;
}

interface Waiter {
  key: OcrPoolKey;
  resolve: (w: PooledWorker) => void;
  reject: (err: unknown) => void;
}

type Grant = { worker: PooledWorker } | { create: true };

/** Shown in stats: `eng+fra|psm3`. */
function keyLabel(key: OcrPoolKey): string {
  return `${key.langs.key}|psm${key.psm}`;
}

/** Identity of a worker's set-up: the data files too, since `models.paths` may swap them. */
function poolKey(key: OcrPoolKey): string {
  return `${keyLabel(key)}|${key.langs.codes.map((c) => key.langs.files[c]).join('|')}`;
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

export class OcrPool {
  private size: number;
  private readonly idleTimeoutMs: number;
  private readonly createTimeoutMs: number;
  private readonly workers: PooledWorker[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly progressRoutes = new Map<string, (fraction: number) => void>();
  private creating = 0;
  private seq = 0;
  private counters = { created: 0, terminated: 0, jobs: 0 };

  constructor(opts: OcrPoolOptions = {}) {
    this.size = Math.max(1, opts.size ?? 2);
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 5 * 60_000;
    this.createTimeoutMs = opts.createTimeoutMs ?? 60_000;
  }

  /** Changes the bound (the processor's concurrency may be overridden by config). */
  resize(size: number): void {
    this.size = Math.max(1, size);
    this.pump();
  }

  stats(): OcrPoolStats {
    const keys: Record<string, number> = {};
    for (const w of this.workers) keys[w.label] = (keys[w.label] ?? 0) + 1;
    const busy = this.workers.filter((w) => w.busy).length;
    return {
      size: this.size,
      workers: this.workers.length,
      busy,
      idle: this.workers.length - busy,
      creating: this.creating,
      waiting: this.waiters.length,
      ...this.counters,
      keys,
    };
  }

  /** Runs one recognition on a pooled worker for `key`. The image is any format Tesseract reads (PGM, PNG, BMP...). */
  async recognize(key: OcrPoolKey, image: Buffer, opts: RecognizeOptions): Promise<Tesseract.Page> {
    const { signal } = opts;
    signal?.throwIfAborted();
    const w = await this.acquire(key, signal);
    if (signal?.aborted) {
      // Canceled while a worker was being made for it: the worker is fine, keep it.
      this.release(w, true);
      throw signal.reason;
    }
    let healthy = true;
    const jobId = `mf-ocr-${++this.seq}`;
    let onAbort: (() => void) | undefined;
    try {
      if (opts.onProgress) this.progressRoutes.set(jobId, opts.onProgress);
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal!.reason);
        signal?.addEventListener('abort', onAbort, { once: true });
      });
      const call = w.api.recognize(image, opts.params ?? {}, opts.output, jobId);
      call.catch(() => { /* settled through the race below; never left unhandled */ });
      this.counters.jobs++;
      const res = await Promise.race([call, w.gone, aborted]);
      return res.data;
    } catch (err) {
      // After a failure the worker's WebAssembly state is not trusted (and after an abort it is
      // still busy with the page): it is terminated rather than handed to the next job.
      healthy = false;
      throw typeof err === 'string' ? new Error(err) : err;
    } finally {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      this.progressRoutes.delete(jobId);
      this.release(w, healthy);
    }
  }

  /** Terminates every worker (busy ones too: their jobs fail) and rejects waiting jobs. The pool stays usable. */
  async shutdown(): Promise<void> {
    const waiters = this.waiters.splice(0);
    for (const q of waiters) q.reject(new MediaflowError('INTERNAL', 'The OCR engine is shutting down'));
    await Promise.all([...this.workers].map((w) => this.terminate(w)));
  }

  // --- internals ---

  private acquire(key: OcrPoolKey, signal?: AbortSignal): Promise<PooledWorker> {
    const grant = this.grant(key);
    if (grant) return this.fulfil(key, grant);
    return new Promise<PooledWorker>((resolve, reject) => {
      let settled = false;
      const waiter: Waiter = {
        key,
        resolve: (w) => {
          signal?.removeEventListener('abort', onAbort);
          // A waiter canceled while its worker was being created: hand the worker back.
          if (settled) this.release(w, true);
          else resolve(w);
          settled = true;
        },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); settled = true; reject(e); },
      };
      const onAbort = () => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        settled = true;
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** What `key` can have right now: an idle worker of its own, room for a new one, or nothing. */
  private grant(key: OcrPoolKey): Grant | undefined {
    const k = poolKey(key);
    const same = this.workers.find((w) => !w.busy && !w.ended && w.key === k);
    if (same) {
      this.markBusy(same);
      return { worker: same };
    }
    if (this.workers.length + this.creating >= this.size) {
      const victim = this.workers.filter((w) => !w.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (!victim) return undefined;
      void this.terminate(victim);
    }
    this.creating++;
    return { create: true };
  }

  private async fulfil(key: OcrPoolKey, grant: Grant): Promise<PooledWorker> {
    if ('worker' in grant) return grant.worker;
    try {
      const w = await this.spawn(key);
      this.workers.push(w);
      this.markBusy(w);
      return w;
    } finally {
      this.creating--;
      // A failed creation frees its slot for whoever waits.
      queueMicrotask(() => this.pump());
    }
  }

  private pump(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      const grant = this.grant(head.key);
      if (!grant) return;
      this.waiters.shift();
      this.fulfil(head.key, grant).then(head.resolve, head.reject);
    }
  }

  private markBusy(w: PooledWorker): void {
    w.busy = true;
    if (w.idleTimer) clearTimeout(w.idleTimer);
    w.idleTimer = undefined;
    // A busy worker keeps the process alive (its job is awaited); an idle one must not.
    w.thread.ref();
  }

  private release(w: PooledWorker, healthy: boolean): void {
    if (!healthy || w.ended) {
      void this.terminate(w);
    } else {
      w.busy = false;
      w.lastUsed = Date.now();
      w.thread.unref();
      w.idleTimer = setTimeout(() => { if (!w.busy) void this.terminate(w); }, this.idleTimeoutMs);
      w.idleTimer.unref();
    }
    this.pump();
  }

  private async terminate(w: PooledWorker): Promise<void> {
    const i = this.workers.indexOf(w);
    if (i >= 0) {
      this.workers.splice(i, 1);
      this.counters.terminated++;
    }
    if (w.idleTimer) clearTimeout(w.idleTimer);
    if (!w.ended) {
      await w.api.terminate().catch(() => undefined);
      // tesseract.js does not wait for the thread; wait here so shutdown() means "no thread left".
      await w.gone.catch(() => undefined);
    }
    // Deferred: terminate() is also called from inside grant(), which pump() itself calls.
    queueMicrotask(() => this.pump());
  }

  private async spawn(key: OcrPoolKey): Promise<PooledWorker> {
    const { default: tesseract } = await import('tesseract.js');
    const { langPath, cleanup } = await this.langFolder(key.langs);
    const id = ++this.seq;
    const k = poolKey(key);
    let failCreate: ((e: Error) => void) | undefined;
    try {
      const failed = new Promise<never>((_, reject) => { failCreate = reject; });
      failed.catch(() => undefined);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new MediaflowError('INTERNAL', `The OCR engine did not load ${key.langs.key} within ${this.createTimeoutMs} ms`)), this.createTimeoutMs);
      });
      timeout.catch(() => undefined);
      const creating = tesseract.createWorker(key.langs.key, tesseract.OEM.LSTM_ONLY, {
        langPath,
        gzip: true,
        // Offline and stateless: read the package's file every time, never write a cache file.
        cacheMethod: 'none',
        // Without an errorHandler tesseract.js rethrows a worker's failure from an event handler,
        // which would crash the process. Failures of calls arrive through their promises anyway;
        // only creation needs this hook, because createWorker's promise never settles when loading
        // or initialising the language data fails.
        errorHandler: (e: unknown) => failCreate?.(new MediaflowError('MODEL_MISSING', `The OCR engine could not load ${key.langs.key}: ${String(e)}`)),
        logger: (m: Tesseract.LoggerMessage) => {
          if (m.status === 'recognizing text') this.progressRoutes.get(m.userJobId)?.(m.progress);
        },
      });
      let api: Tesseract.Worker;
      try {
        api = await Promise.race([creating, failed, timeout]);
      } catch (err) {
        // The thread of a worker that failed to load is out of reach (createWorker only hands it
        // over on success); should the load still finish, end it.
        creating.then((late) => late.terminate(), () => undefined);
        throw err;
      } finally {
        clearTimeout(timer);
      }
      failCreate = undefined;
      // `worker` (the thread) is on the object tesseract.js returns, though not in its typings.
      const thread = (api as unknown as { worker: import('node:worker_threads').Worker }).worker;
      const w: PooledWorker = { id, key: k, label: keyLabel(key), api, thread, busy: false, lastUsed: Date.now(), ended: false, gone: undefined as never };
      w.gone = new Promise<never>((_, reject) => {
        const end = (why: string) => {
          if (w.ended) return;
          w.ended = true;
          reject(new MediaflowError('INTERNAL', `The OCR engine's worker thread ended (${why})`));
          // An idle worker that died is dropped now; a busy one when its job lets go of it.
          if (!w.busy) void this.terminate(w);
        };
        // tesseract.js sets `onerror` on the Worker, which Node's Worker never calls: without this
        // listener an uncaught error in the thread would crash the whole process.
        thread.on('error', (err) => end(asError(err).message));
        thread.on('exit', (code) => end(`exit code ${code}`));
      });
      w.gone.catch(() => undefined);
      this.counters.created++;
      try {
        await Promise.race([api.setParameters({
          tessedit_pageseg_mode: String(key.psm) as Tesseract.PSM,
          // Tesseract prints notes ("Estimating resolution as 296") to stdout; keep job output clean.
          debug_file: '/dev/null',
        }), w.gone]);
      } catch (err) {
        this.counters.terminated++;
        await api.terminate().catch(() => undefined);
        throw typeof err === 'string' ? new MediaflowError('INTERNAL', err) : err;
      }
      return w;
    } finally {
      await cleanup();
    }
  }

  /**
   * tesseract.js reads every language from one `langPath` folder as `<code>.traineddata.gz`. One
   * language from its package: the package's own folder. Otherwise (`eng+fra`, each in its own
   * package, or a `models.paths` file of another name): a temporary folder of links under the
   * expected names, removed once the worker has read them. (tesseract.js gunzips by the content's
   * magic bytes, so a plain `.traineddata` linked under the `.gz` name loads as well.)
   */
  private async langFolder(langs: ResolvedLanguages): Promise<{ langPath: string; cleanup: () => Promise<void> }> {
    const only = langs.codes.length === 1 ? langs.files[langs.codes[0]!]! : undefined;
    if (only && path.basename(only) === `${langs.codes[0]}.traineddata.gz`) return { langPath: path.dirname(only), cleanup: async () => {} };
    const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ocr-langs-'));
    for (const [code, file] of Object.entries(langs.files)) {
      const link = path.join(dir, `${code}.traineddata.gz`);
      // Symbolic links may be unavailable (Windows without developer mode): copy then.
      await symlink(file, link).catch(() => copyFile(file, link));
    }
    return { langPath: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
  }
}
