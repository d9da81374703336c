import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyModel, planWindows, transitionWeight, type SegmentModel } from '../../src/processors/separate/demucs.apply.js';

// The streaming apply_model against a literal transcription of Demucs' apply.py (TensorChunk,
// padded(), center_trim, the transition weight, shifts), on a small deterministic "model" whose
// output depends on the padding it is given, so any slip in window placement, padding, trimming
// or weighting shows up. (The real model is exercised in test/integration/separate.test.ts.)

const SOURCES = 2;

/** A cheap non-linear function of a whole window: each output sample also depends on the window's mean. */
function fakeSeparate(mix: Float32Array, seg: number): Float32Array {
  const out = new Float32Array(SOURCES * 2 * seg);
  for (let c = 0; c < 2; c++) {
    let mean = 0;
    for (let i = 0; i < seg; i++) mean += mix[c * seg + i];
    mean /= seg;
    for (let s = 0; s < SOURCES; s++) {
      for (let i = 0; i < seg; i++) out[(s * 2 + c) * seg + i] = Math.tanh(mix[c * seg + i] * (s + 1)) * (1 + i / seg) + 0.1 * (s + 1) * mean;
    }
  }
  return out;
}

function model(seg: number, sampleRate: number, calls: { n: number }): SegmentModel<Float32Array, { out: Float32Array }> {
  return {
    segment: seg, sources: SOURCES, sampleRate,
    prepare: (m) => m,
    run: async (m) => { calls.n++; return { out: fakeSeparate(m, seg), modelMs: 0 }; },
    finish: (r) => r.out,
  };
}

// --- Demucs' apply.py, transcribed (float64, whole arrays) ---
interface Chunk { tensor: Float64Array[]; offset: number; length: number }
const chunk = (tensor: Float64Array[], offset: number, length: number): Chunk => ({ tensor, offset, length: Math.min(tensor[0].length - offset, length) });
const subChunk = (c: Chunk, offset: number, length: number): Chunk => ({ tensor: c.tensor, offset: c.offset + offset, length: Math.min(c.length - offset, length) });
function padded(c: Chunk, target: number): Float32Array {
  const delta = target - c.length;
  const start = c.offset - Math.floor(delta / 2);
  const out = new Float32Array(2 * target);
  for (let ch = 0; ch < 2; ch++) for (let i = 0; i < target; i++) {
    const p = start + i;
    if (p >= 0 && p < c.tensor[ch].length) out[ch * target + i] = c.tensor[ch][p];
  }
  return out;
}
function splitApply(c: Chunk, seg: number, overlap: number): Float64Array[] {
  const length = c.length;
  const out = Array.from({ length: SOURCES * 2 }, () => new Float64Array(length));
  const sumWeight = new Float64Array(length);
  const stride = Math.floor((1 - overlap) * seg);
  const weight = transitionWeight(seg);
  for (let offset = 0; offset < length; offset += stride) {
    const sub = subChunk(c, offset, seg);
    const y = fakeSeparate(padded(sub, seg), seg);
    const trim = Math.floor((seg - sub.length) / 2); // center_trim
    for (let t = 0; t < SOURCES * 2; t++) for (let i = 0; i < sub.length; i++) out[t][offset + i] += weight[i] * y[t * seg + trim + i];
    for (let i = 0; i < sub.length; i++) sumWeight[offset + i] += weight[i];
  }
  for (const o of out) for (let i = 0; i < length; i++) o[i] /= sumWeight[i];
  return out;
}
function referenceApply(mix: Float64Array[], seg: number, rate: number, overlap: number, offsets: number[]): Float64Array[] {
  const L = mix[0].length;
  if (offsets.length === 0) return splitApply(chunk(mix, 0, L), seg, overlap);
  const maxShift = Math.floor(0.5 * rate);
  const pad = mix.map((m) => { const p = new Float64Array(L + 2 * maxShift); p.set(m, maxShift); return p; });
  const out = Array.from({ length: SOURCES * 2 }, () => new Float64Array(L));
  for (const off of offsets) {
    const res = splitApply(chunk(pad, off, L + maxShift - off), seg, overlap);
    for (let t = 0; t < out.length; t++) for (let i = 0; i < L; i++) out[t][i] += res[t][maxShift - off + i];
  }
  for (const o of out) for (let i = 0; i < L; i++) o[i] /= offsets.length;
  return out;
}

function signal(L: number): Float64Array[] {
  return [0, 1].map((c) => Float64Array.from({ length: L }, (_, i) => 0.6 * Math.sin(0.07 * i * (c + 1)) + 0.3 * Math.cos(0.013 * i * i)));
}

async function streamed(mix: Float64Array[], seg: number, rate: number, overlap: number, shifts: number, draws: number[]) {
  const L = mix[0].length;
  const out = Array.from({ length: SOURCES * 2 }, () => new Float64Array(L));
  const chunks: { start: number; len: number }[] = [];
  const calls = { n: 0 };
  let d = 0;
  const stats = await applyModel(model(seg, rate, calls), {
    length: L,
    read: async (start, len, o) => {
      for (let c = 0; c < 2; c++) for (let i = 0; i < len; i++) { const p = start + i; o[c * len + i] = p >= 0 && p < L ? mix[c][p] : 0; }
    },
  }, {
    shifts, overlap, randint: (max) => { const v = draws[d++ % draws.length]; assert.ok(v <= max); return v; },
    sink: async (start, len, data) => {
      chunks.push({ start, len });
      for (let t = 0; t < out.length; t++) for (let i = 0; i < len; i++) out[t][start + i] = data[t * len + i];
    },
  });
  return { out, chunks, stats, calls: calls.n };
}

test('transition weight is Demucs\' triangle: 1 … segment/2 … 1, peak 1', () => {
  const w = transitionWeight(10);
  assert.deepEqual([...w].map((v) => Math.round(v * 5)), [1, 2, 3, 4, 5, 5, 4, 3, 2, 1]);
  const odd = transitionWeight(7);
  assert.deepEqual([...odd].map((v) => Math.round(v * 4)), [1, 2, 3, 4, 3, 2, 1]);
});

test('windows: offsets 0, stride, … < L; the last one shortened; shifted passes start before the song', () => {
  assert.deepEqual(planWindows(250, 100, 75, [0]).map((w) => [w.start, w.len]), [[0, 100], [75, 100], [150, 100], [225, 25]]);
  assert.deepEqual(planWindows(50, 100, 75, [-20]).map((w) => [w.start, w.len]), [[-20, 70]]);
});

test('streaming apply_model equals Demucs\' apply_model (no shift, random shifts, several overlaps and lengths)', async () => {
  const seg = 64, rate = 40; // max_shift = 20
  for (const L of [1, 37, 64, 100, 250, 1001]) {
    for (const overlap of [0, 0.25, 0.5]) {
      for (const draws of [[], [7], [0, 20, 13]]) {
        const mix = signal(L);
        const ref = referenceApply(mix, seg, rate, overlap, draws);
        const got = await streamed(mix, seg, rate, overlap, draws.length, draws);
        let maxErr = 0;
        for (let t = 0; t < ref.length; t++) for (let i = 0; i < L; i++) maxErr = Math.max(maxErr, Math.abs(ref[t][i] - got.out[t][i]));
        assert.ok(maxErr < 1e-5, `L=${L} overlap=${overlap} shifts=${JSON.stringify(draws)}: max error ${maxErr}`);
        assert.equal(got.stats.offsets.length, draws.length);
        assert.equal(got.calls, got.stats.windows);
      }
    }
  }
});

test('every sample reaches the sink once, in order, in pieces no longer than the open windows', async () => {
  const seg = 64, rate = 40, L = 20_000;
  for (const draws of [[], [5, 19, 0]]) {
    const { chunks } = await streamed(signal(L), seg, rate, 0.25, draws.length, draws);
    let pos = 0;
    for (const c of chunks) {
      assert.equal(c.start, pos);
      // Bounded by a window and a shift, however long the song: memory does not grow with it.
      assert.ok(c.len <= seg + Math.floor(0.5 * rate), `a piece of ${c.len} samples`);
      pos += c.len;
    }
    assert.equal(pos, L);
  }
});

test('an identity model gives the input back exactly: the weights are normalised everywhere', async () => {
  const seg = 50, L = 333;
  const mix = signal(L);
  for (const shifts of [0, 2]) {
    const out: number[][] = [[], []];
    let d = 0;
    await applyModel({
      segment: seg, sources: 1, sampleRate: 20,
      prepare: (m: Float32Array) => m,
      run: async (m: Float32Array) => ({ out: m, modelMs: 0 }),
      finish: (r: { out: Float32Array }) => r.out,
    }, {
      length: L,
      read: async (start, len, o) => { for (let c = 0; c < 2; c++) for (let i = 0; i < len; i++) { const p = start + i; o[c * len + i] = p >= 0 && p < L ? mix[c][p] : 0; } },
    }, {
      shifts, overlap: 0.25, randint: (max) => [3, max][d++ % 2],
      sink: async (_s, len, data) => { for (let c = 0; c < 2; c++) out[c].push(...data.subarray(c * len, (c + 1) * len)); },
    });
    for (let c = 0; c < 2; c++) for (let i = 0; i < L; i++) assert.ok(Math.abs(out[c][i] - mix[c][i]) < 1e-6, `shifts=${shifts} c=${c} i=${i}`);
  }
});

test('cancellation stops between windows', async () => {
  const seg = 64, L = 5000;
  const controller = new AbortController();
  let windows = 0;
  await assert.rejects(applyModel(model(seg, 40, { n: 0 }), {
    length: L, read: async (_s, len, o) => { o.fill(0.1, 0, 2 * len); },
  }, {
    shifts: 0, overlap: 0.25, randint: () => 0, signal: controller.signal,
    onWindow: (done) => { windows = done; if (done === 3) controller.abort(new Error('stop')); },
    sink: async () => undefined,
  }), /stop/);
  assert.equal(windows, 3);
});
