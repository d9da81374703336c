/**
 * Automatic threshold of the contrast image. Otsu's threshold separates background from objects
 * well when the scene has one kind of object, but with a dark and a faint object it lands between
 * the two and loses the faint one; so the threshold used is the lower of Otsu's half and a fixed
 * contrast, but never below what the background's own noise reaches.
 */

/**
 * Otsu's threshold of non-negative values, over `bins` histogram bins. Large images are sampled
 * (every `stride`-th value): the histogram's shape does not need every pixel.
 */
export function otsuThreshold(values: Float32Array, bins = 512): number {
  const stride = values.length > 1_000_000 ? 4 : values.length > 250_000 ? 2 : 1;
  let max = 0;
  for (let i = 0; i < values.length; i += stride) if (values[i] > max) max = values[i];
  if (max <= 0) return 0;
  const hist = new Float64Array(bins);
  const scale = (bins - 1) / max;
  let total = 0;
  for (let i = 0; i < values.length; i += stride) { hist[Math.round(values[i] * scale)]++; total++; }
  let sumAll = 0;
  for (let b = 0; b < bins; b++) sumAll += b * hist[b];
  let w0 = 0, sum0 = 0, best = 0, bestVar = -1;
  for (let b = 0; b < bins; b++) {
    w0 += hist[b];
    if (w0 === 0) continue;
    const w1 = total - w0;
    if (w1 === 0) break;
    sum0 += b * hist[b];
    const m0 = sum0 / w0, m1 = (sumAll - sum0) / w1;
    const between = w0 * w1 * (m0 - m1) * (m0 - m1);
    if (between > bestVar) { bestVar = between; best = b; }
  }
  return (best + 0.5) / scale;
}

/** The largest colour distance between two RGB colours (black to white). */
export const MAX_CONTRAST = Math.sqrt(3) * 255;

/** Contrast that counts as "clearly different from the backdrop" when noise allows it (0..441). */
const PLAIN_CONTRAST = 30;

/**
 * The contrast threshold: `min(otsu / 2, 30)`, raised to 4× the background's median residual (for a
 * χ-distributed colour noise that is beyond the 99.99th percentile) and at least 6 (quantisation).
 */
export function chooseThreshold(contrast: Float32Array, noise: number): number {
  const otsu = otsuThreshold(contrast);
  return Math.max(4 * noise, 6, Math.min(otsu / 2, PLAIN_CONTRAST));
}
