import { SlidingSum } from './sliding-sum.js';

/**
 * Demucs v4's `apply_model` (demucs/apply.py) for one model, rewritten to stream: the same windows,
 * transition weights, random shifts and padding, but each window's weighted output is added to
 * buffers that only span the windows still open, and every sample is handed to `sink` as soon as no
 * later window can touch it. Memory is a few segments, whatever the length of the song.
 *
 * What Demucs does, in this module's terms (positions are samples of the original mix):
 * - `shifts = 0`: one pass with windows at 0, stride, 2·stride, … < L (stride = (1 − overlap)·segment).
 * - `shifts = n > 0`: n passes; each draws `offset = randint(0, max_shift)` (max_shift = samplerate/2),
 *   its windows start at `offset − max_shift + k·stride` (zeros before the song), and the n outputs
 *   are averaged. So `shifts = 1` is one randomly shifted pass, as in Demucs.
 * - A window covers [s, s + len) with len = min(segment, L − s); the model sees it centred in
 *   `segment` samples taken from around it (`TensorChunk.padded`: real neighbours where there are
 *   some, zeros outside the song) and its output is centre-trimmed back to `len`.
 * - Window outputs are summed with the triangular weight `weight[0 … len)` (1 … segment/2 … 1,
 *   normalised to a peak of 1) and divided by the summed weights.
 */

/** Reads the (already normalised) mix: planar [2][len] from `start`, zeros outside the song. */
export interface MixReader {
  readonly length: number;
  read(start: number, len: number, out: Float32Array): Promise<void>;
}

/**
 * The model, in three steps so that the work around it overlaps with its run on the neighbouring
 * windows: `prepare` (this thread, e.g. the STFT) → `run` (elsewhere, asynchronous) → `finish`
 * (this thread, e.g. the iSTFT), which gives planar [sources][2][segment] from planar [2][segment].
 */
export interface SegmentModel<P = unknown, R = unknown> {
  readonly segment: number;
  readonly sources: number;
  readonly sampleRate: number;
  prepare(mix: Float32Array): P;
  run(prepared: P): Promise<R & { modelMs: number }>;
  finish(raw: R): Float32Array;
}

export interface ApplyOptions {
  /** Random shifts averaged (Demucs' `--shifts`): 0 none, n > 0 that many random shifts. */
  shifts: number;
  /** Overlap between windows, in [0, 1) (Demucs' `--overlap`, default 0.25). */
  overlap: number;
  /** A random integer in [0, max], inclusive (Python's `random.randint(0, max)`). */
  randint: (max: number) => number;
  signal?: AbortSignal;
  /** Called after each window with the count done and the total. */
  onWindow?: (done: number, total: number) => void;
  /**
   * Receives the separated sources in order, once each: planar [sources][2][len] for positions
   * [start, start + len). The buffer may be reused after the promise resolves.
   */
  sink: (start: number, len: number, data: Float32Array) => Promise<void>;
}

export interface ApplyStats {
  windows: number;
  passes: number;
  /** Offsets drawn for the shifts (empty when shifts = 0). */
  offsets: number[];
  modelMs: number;
  dspMs: number;
}

interface Window { pass: number; start: number; len: number }

/** Demucs' transition weight: a triangle with its peak in the middle, normalised to 1 (float32). */
export function transitionWeight(segment: number): Float32Array {
  const half = Math.floor(segment / 2);
  const w = new Float32Array(segment);
  for (let i = 0; i < half; i++) w[i] = i + 1;
  for (let i = half; i < segment; i++) w[i] = segment - i;
  const max = Math.max(half, segment - half);
  for (let i = 0; i < segment; i++) w[i] = Math.fround(w[i] / max);
  return w;
}

/** The windows of every pass, in the order they are run (by start, so passes advance together). */
export function planWindows(length: number, segment: number, stride: number, origins: number[]): Window[] {
  const all: Window[] = [];
  origins.forEach((origin, pass) => {
    // The pass covers [origin, length): Demucs' shifted chunk of length L + max_shift − offset.
    const span = length - origin;
    for (let k = 0; k * stride < span; k++) {
      const start = origin + k * stride;
      all.push({ pass, start, len: Math.min(segment, length - start) });
    }
  });
  return all.sort((a, b) => a.start - b.start || a.pass - b.pass);
}

export async function applyModel<P, R>(model: SegmentModel<P, R>, mix: MixReader, opts: ApplyOptions): Promise<ApplyStats> {
  const { segment, sources } = model;
  const L = mix.length;
  const tracks = sources * 2;
  if (!(opts.overlap >= 0 && opts.overlap < 1)) throw new RangeError('overlap must be in [0, 1)');
  const stride = Math.floor((1 - opts.overlap) * segment);
  if (stride < 1) throw new RangeError('overlap leaves no stride');
  const maxShift = Math.floor(0.5 * model.sampleRate);
  const offsets = Array.from({ length: opts.shifts }, () => opts.randint(maxShift));
  const origins = opts.shifts > 0 ? offsets.map((o) => o - maxShift) : [0];
  const passes = origins.length;
  const windows = planWindows(L, segment, stride, origins);
  const weight = transitionWeight(segment);

  // Per pass: weighted sums and summed weights of the open windows; `done` = first position not yet final.
  const acc = origins.map((o) => new SlidingSum(tracks, o, segment + stride, true));
  const done = origins.map((o) => Math.max(0, o));
  const remaining = origins.map((_, p) => windows.filter((w) => w.pass === p).length);
  // Across passes (only when averaging several): the sum of the finished passes' outputs.
  const avg = passes > 1 ? new SlidingSum(tracks, 0, segment + stride + maxShift) : null;
  let emitted = 0;
  const stats: ApplyStats = { windows: windows.length, passes, offsets, modelMs: 0, dspMs: 0 };

  /** Reads a window as Demucs' `TensorChunk.padded` does (centred in `segment` samples taken from around it) and prepares it. */
  const prepareWindow = async (w: Window): Promise<P> => {
    const delta = segment - w.len;
    const buf = new Float32Array(2 * segment);
    await mix.read(w.start - Math.floor(delta / 2), segment, buf);
    const t = performance.now();
    const p = model.prepare(buf);
    stats.dspMs += performance.now() - t;
    return p;
  };

  /** Hands the final samples [emitted, upTo) of `from` to the sink (divided by `divisor` if not weighted). */
  const emit = async (from: SlidingSum, upTo: number, divisor = 1) => {
    if (upTo <= emitted) return;
    const start = emitted;
    const data = from.take(start, upTo, divisor);
    emitted = upTo;
    await opts.sink(start, upTo - start, data);
  };

  // Window i+1 is read and prepared while window i is in the model, and submitted as soon as i
  // returns; window i is then finished while i+1 is in the model: the model thread never waits.
  let inFlight = windows.length > 0 ? model.run(await prepareWindow(windows[0])) : null;
  for (let i = 0; i < windows.length; i++) {
    const w = windows[i];
    const next = i + 1 < windows.length ? prepareWindow(windows[i + 1]) : null;
    // Awaited below; until then a failed read must not count as an unhandled rejection.
    next?.catch(() => undefined);
    const raw = await inFlight!;
    opts.signal?.throwIfAborted();
    inFlight = next ? model.run(await next) : null;
    inFlight?.catch(() => undefined);
    stats.modelMs += raw.modelMs;
    const t = performance.now();
    const out = model.finish(raw);
    stats.dspMs += performance.now() - t;

    // Centre-trim the model's output to the window, weight it and add it to its pass.
    const delta = segment - w.len;
    const trim = Math.floor(delta / 2);
    const a = acc[w.pass];
    a.addWeighted(w.start, w.len, out, segment, trim, weight);

    // Positions before this pass's next window are final for the pass.
    remaining[w.pass]--;
    const nextStart = remaining[w.pass] > 0 ? w.start + stride : L;
    const final = Math.min(L, nextStart);
    if (avg) {
      if (final > done[w.pass]) {
        avg.addPlanar(done[w.pass], final - done[w.pass], a.take(done[w.pass], final));
        done[w.pass] = final;
      }
      await emit(avg, Math.min(...done), passes);
    } else {
      await emit(a, final);
    }
    opts.onWindow?.(i + 1, windows.length);
  }
  return stats;
}
