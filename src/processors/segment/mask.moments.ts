import type { Rle } from './coco-rle.js';

/** Shape statistics of a mask: the principal component analysis of its pixel coordinates. */
export interface MaskMoments {
  area: number;
  /** Mean pixel position `[x, y]` (pixel centres at integer coordinates + 0.5). */
  centroid: [number, number];
  /**
   * Orientation of the principal (major) axis in degrees, counter-clockwise from the image's
   * horizontal axis as the image is seen (image y points down), in (-90, 90].
   */
  angle: number;
  /** Variances along the principal axes, major first (px²). */
  eigenvalues: [number, number];
  /** `eigenvalues[0] / eigenvalues[1]` (≥ 1): 1 for a disc or a square, large for a thin object. */
  elongation: number;
}

/**
 * PCA of a mask's pixel coordinates, computed from its runs (each run is a vertical segment, whose
 * sums have closed forms), so no pixel is visited. Pixels count as unit squares, which adds 1/12 to
 * each variance: a one-pixel-wide line has a finite elongation and the statistics do not depend on
 * the image resolution as much.
 */
export function rleMoments(rle: Rle): MaskMoments | null {
  const { h, counts } = rle;
  // Pass 1: area and centroid.
  let n = 0, sx = 0, sy = 0;
  forEachSegment(counts, h, (x, y0, len) => {
    n += len;
    sx += (x + 0.5) * len;
    sy += (y0 + 0.5) * len + (len * (len - 1)) / 2;
  });
  if (n === 0) return null;
  const cx = sx / n, cy = sy / n;
  // Pass 2: central second moments (centred first, so that large images keep their precision).
  let sxx = 0, syy = 0, sxy = 0;
  forEachSegment(counts, h, (x, y0, len) => {
    const dx = x + 0.5 - cx;
    const a = y0 + 0.5 - cy; // offset of the run's first pixel
    const sumD = len * a + (len * (len - 1)) / 2; // Σ (a + k), k = 0..len-1
    const sumD2 = len * a * a + a * len * (len - 1) + ((len - 1) * len * (2 * len - 1)) / 6; // Σ (a + k)²
    sxx += dx * dx * len;
    syy += sumD2;
    sxy += dx * sumD;
  });
  return momentsFromSums(n, cx, cy, sxx / n + 1 / 12, syy / n + 1 / 12, sxy / n);
}

/** PCA from a row-major 0/1 mask (for callers that hold pixels rather than runs). */
export function maskMoments(mask: ArrayLike<number>, w: number, h: number): MaskMoments | null {
  let n = 0, sx = 0, sy = 0;
  for (let y = 0, i = 0; y < h; y++) for (let x = 0; x < w; x++, i++) if (mask[i]) { n++; sx += x + 0.5; sy += y + 0.5; }
  if (n === 0) return null;
  const cx = sx / n, cy = sy / n;
  let sxx = 0, syy = 0, sxy = 0;
  for (let y = 0, i = 0; y < h; y++) for (let x = 0; x < w; x++, i++) {
    if (!mask[i]) continue;
    const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
    sxx += dx * dx; syy += dy * dy; sxy += dx * dy;
  }
  return momentsFromSums(n, cx, cy, sxx / n + 1 / 12, syy / n + 1 / 12, sxy / n);
}

function momentsFromSums(n: number, cx: number, cy: number, a: number, c: number, b: number): MaskMoments {
  const mean = (a + c) / 2;
  const d = Math.hypot((a - c) / 2, b);
  const l1 = mean + d, l2 = Math.max(mean - d, 1e-12);
  // 0.5·atan2(2b, a − c) is the major axis' angle in image coordinates (clockwise as seen, since y
  // points down); negating it gives the counter-clockwise angle the API documents.
  const theta = d < 1e-12 ? 0 : (-0.5 * Math.atan2(2 * b, a - c) * 180) / Math.PI;
  return { area: n, centroid: [cx, cy], angle: normaliseAngle(theta), eigenvalues: [l1, l2], elongation: l1 / l2 };
}

/** Maps any angle in degrees to (-90, 90] (an axis has no direction). */
export function normaliseAngle(deg: number): number {
  let a = deg % 180;
  if (a <= -90) a += 180;
  else if (a > 90) a -= 180;
  return a === 0 ? 0 : a; // no -0 in JSON
}

/** Calls `fn(x, y0, length)` for every vertical segment of set pixels. */
function forEachSegment(counts: Uint32Array, h: number, fn: (x: number, y0: number, len: number) => void): void {
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    let n = counts[j];
    if (j % 2 === 1) {
      let p = pos;
      while (n > 0) {
        const x = Math.floor(p / h), y = p - x * h;
        const len = Math.min(n, h - y);
        fn(x, y, len);
        p += len;
        n -= len;
      }
    }
    pos += counts[j];
  }
}
