import sharp from 'sharp';
import type { AppConfig } from '../../config/config.schema.js';
import { isMediaflowError } from '../../core/errors.js';
import type { RawImage } from '../../media/image/index.js';
import { acquirePool, releasePool, type InferencePool } from './inference.pool.js';
import { locateModel, MODEL_FAMILIES, type ModelName, type Scale } from './esrgan.models.js';
import type { RuntimeKind } from './runtime.types.js';
import { planAxis, windowWeights, type AxisPlan } from './upscale.tiles.js';

export interface UpscaleOptions {
  model: ModelName;
  scale: Scale;
  /** Largest tile core, in input pixels (the model sees it plus context and overlap). */
  tile: number;
  /** Cross-fade width between tiles, in input pixels (default 8). */
  overlap?: number;
  /** Context pixels around each tile (default: the model family's `context`). */
  context?: number;
  /** Value range fed to the network (default: the family's measured range for this scale). */
  range?: 255 | 1;
  /**
   * Engine: `onnx` (onnxruntime-node, the fast path), `tfjs` (the reference tfjs-wasm path) or
   * `auto` (default: onnx, falling back to tfjs when onnxruntime-node cannot start here).
   */
  runtime?: RuntimeKind | 'auto';
  /** Threads for inference (default 1). */
  threads?: number;
  /** Used for `models.paths` overrides. */
  config?: AppConfig;
  signal?: AbortSignal;
  onProgress?: (fraction: number, stage: string) => void;
  log?: (message: string, level?: 'debug' | 'info' | 'warn' | 'error') => void;
}

export interface UpscaleOutcome {
  image: RawImage;
  tiles: number;
  runtime: RuntimeKind;
}

/**
 * Upscales 8-bit RGB(A) pixels with an ESRGAN model, tile by tile (see upscale.tiles.ts).
 *
 * Memory: the input, the output, and a float band one tile row high (tile + 8 input rows × scale
 * × output width × 12 bytes) — never a float copy of the whole output. A 4000×3000 photo at ×2
 * holds a 144 MB output and a 51 MB band (at ×4: 576 MB and 203 MB), plus the engine's own
 * working memory for one tile. Tiles run in worker threads (inference.pool.ts): the calling event
 * loop stays free, and cancellation is checked before every tile.
 *
 * Alpha is upscaled separately with Lanczos-3 (sharp): the models were trained on photographs, and
 * an alpha mask is not one — a classic resampler keeps its edges clean and costs nothing next to
 * the model.
 */
export async function upscaleRaw(img: RawImage, opts: UpscaleOptions): Promise<UpscaleOutcome> {
  const family = MODEL_FAMILIES[opts.model];
  const s = opts.scale;
  const signal = opts.signal;
  signal?.throwIfAborted();
  const modelPath = locateModel(opts.model, s, opts.config);
  const context = opts.context ?? family.context;
  const overlap = opts.overlap ?? 8;
  const px = planAxis(img.width, opts.tile, overlap, context);
  const py = planAxis(img.height, opts.tile, overlap, context);
  const total = px.tiles.length * py.tiles.length;
  const W = img.width * s;
  const H = img.height * s;
  const outChannels = img.channels;
  // Every sample is written below (colour by the tiles, alpha by upscaleAlpha): no need to zero it.
  const out = Buffer.allocUnsafeSlow(W * H * outChannels);

  // Alpha first, while the pool starts: it only needs sharp's thread pool.
  const alphaDone = img.channels === 4 ? upscaleAlpha(img, s, out) : Promise.resolve();
  // Awaited after the tiles; until then a failure must not count as an unhandled rejection.
  alphaDone.catch(() => undefined);

  opts.onProgress?.(0, 'loading model');
  const pool = await startPool(opts.runtime ?? 'auto', modelPath, opts.range ?? family.range[s], Math.max(1, opts.threads ?? 1), opts.log);
  const runtime = pool.spec.kind;
  let healthy = false;
  try {
    if (pool.scale !== s) throw new Error(`model ${modelPath} upscales ×${pool.scale}, expected ×${s}`);
    await runTiles(img, pool, px, py, s, out, outChannels, signal, (done) => opts.onProgress?.(done / total, `tile ${done}/${total}`));
    await alphaDone;
    healthy = true;
  } finally {
    releasePool(pool, healthy);
  }
  return { image: { data: out, width: W, height: H, channels: outChannels as 3 | 4 }, tiles: total, runtime };
}

async function startPool(kind: RuntimeKind | 'auto', modelPath: string, range: 255 | 1, threads: number,
  log?: UpscaleOptions['log']): Promise<InferencePool> {
  if (kind !== 'auto') return acquirePool({ kind, modelPath, range, threads });
  try {
    return await acquirePool({ kind: 'onnx', modelPath, range, threads });
  } catch (err) {
    // A missing model is missing for both engines; anything else (no native binary for this
    // platform, say) leaves the portable WebAssembly engine.
    if (isMediaflowError(err) && err.code === 'MODEL_MISSING') throw err;
    log?.(`onnxruntime unavailable (${(err as Error).message}); using tfjs-wasm`, 'warn');
    return acquirePool({ kind: 'tfjs', modelPath, range, threads });
  }
}

async function upscaleAlpha(img: RawImage, s: number, out: Buffer): Promise<void> {
  const alpha = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: 4 }, limitInputPixels: false })
    .extractChannel(3)
    .resize(img.width * s, img.height * s, { kernel: 'lanczos3', fastShrinkOnLoad: false })
    .raw()
    .toBuffer();
  for (let i = 0, o = 3; i < alpha.length; i++, o += 4) out[o] = alpha[i];
}

function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) { reject(signal.reason); return; }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e) => { signal.removeEventListener('abort', onAbort); reject(e); });
  });
}

async function runTiles(img: RawImage, pool: InferencePool, px: AxisPlan, py: AxisPlan, s: number, out: Buffer, outC: number,
  signal: AbortSignal | undefined, progress: (done: number) => void): Promise<void> {
  const W = img.width * s;
  const wx = px.tiles.map((_, i) => windowWeights(px, i, s));
  const maxWindowRows = Math.max(...py.tiles.map((t) => t.windowEnd - t.windowStart)) * s;
  // Float accumulator for one row of tiles (cross-faded sums), W × maxWindowRows × 3.
  const band = new Float32Array(maxWindowRows * W * 3);
  let bandTop = py.tiles[0].windowStart * s;
  let done = 0;

  for (let j = 0; j < py.tiles.length; j++) {
    const ty = py.tiles[j];
    const wy = windowWeights(py, j, s);
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < px.tiles.length; i++) {
      signal?.throwIfAborted();
      const tx = px.tiles[i];
      const rh = ty.regionEnd - ty.regionStart;
      const rw = tx.regionEnd - tx.regionStart;
      const tile = extractRegion(img, tx.regionStart, ty.regionStart, rw, rh);
      const top = bandTop;
      const job = pool.run(tile, rh, rw).then(async (res) => {
        await accumulate(band, top, W, res, rw * s, tx.regionStart * s, ty.regionStart * s,
          tx.windowStart * s, tx.windowEnd * s, ty.windowStart * s, ty.windowEnd * s, wx[i], wy);
        progress(++done);
      });
      // Awaited below; this only keeps a rejection after an abort from going unobserved.
      job.catch(() => undefined);
      inflight.push(job);
      // Keep the engines fed without queueing the whole row (bounded memory).
      if (inflight.length >= pool.capacity) await abortable(inflight.shift()!, signal);
    }
    await abortable(Promise.all(inflight), signal);
    // Rows above the next tile row's window are final; the overlap rows move to the band's top.
    const next = j + 1 < py.tiles.length ? py.tiles[j + 1].windowStart * s : img.height * s;
    const bandEnd = ty.windowEnd * s;
    await finalizeRows(band, bandTop, next, W, out, outC);
    const carry = (bandEnd - next) * W * 3;
    band.copyWithin(0, (next - bandTop) * W * 3, (bandEnd - bandTop) * W * 3);
    band.fill(0, carry);
    bandTop = next;
  }
}

/** Copies an RGB region of the input into a float tile (NHWC, 0..255). */
function extractRegion(img: RawImage, x0: number, y0: number, w: number, h: number): Float32Array {
  const c = img.channels;
  const tile = new Float32Array(w * h * 3);
  let o = 0;
  for (let y = 0; y < h; y++) {
    let i = ((y0 + y) * img.width + x0) * c;
    for (let x = 0; x < w; x++, i += c) {
      tile[o++] = img.data[i];
      tile[o++] = img.data[i + 1];
      tile[o++] = img.data[i + 2];
    }
  }
  return tile;
}

/**
 * Rows of pixel work between yields to the event loop: about 5 ms each, so a worker process keeps
 * answering heartbeats and progress while a ×8 tile (12 M samples) is blended.
 */
const SAMPLES_PER_SLICE = 1 << 20;
const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

async function accumulate(band: Float32Array, bandTop: number, W: number, res: Float32Array, resW: number, resX0: number, resY0: number,
  x0: number, x1: number, y0: number, y1: number, wx: Float32Array, wy: Float32Array): Promise<void> {
  const rowsPerSlice = Math.max(1, Math.floor(SAMPLES_PER_SLICE / ((x1 - x0) * 3)));
  for (let y = y0; y < y1; y++) {
    if (y > y0 && (y - y0) % rowsPerSlice === 0) await yieldToLoop();
    const fy = wy[y - y0];
    let b = ((y - bandTop) * W + x0) * 3;
    let r = ((y - resY0) * resW + (x0 - resX0)) * 3;
    for (let x = x0; x < x1; x++) {
      const f = fy * wx[x - x0];
      band[b++] += f * res[r++];
      band[b++] += f * res[r++];
      band[b++] += f * res[r++];
    }
  }
}

async function finalizeRows(band: Float32Array, bandTop: number, until: number, W: number, out: Buffer, outC: number): Promise<void> {
  const rowsPerSlice = Math.max(1, Math.floor(SAMPLES_PER_SLICE / (W * 3)));
  for (let y = bandTop; y < until; y++) {
    if (y > bandTop && (y - bandTop) % rowsPerSlice === 0) await yieldToLoop();
    let b = (y - bandTop) * W * 3;
    let o = y * W * outC;
    for (let x = 0; x < W; x++, o += outC) {
      // The engines clip to 0..255 and the weights sum to 1: rounding is all that is left.
      out[o] = band[b++] + 0.5;
      out[o + 1] = band[b++] + 0.5;
      out[o + 2] = band[b++] + 0.5;
    }
  }
}
