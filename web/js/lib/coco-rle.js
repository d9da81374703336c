/**
 * COCO run-length encoded masks in the browser: the `mask_rle` of segment results is
 * `{size: [h, w], counts: base64(<compressed string>)}`, as pycocotools writes it (column-major runs
 * alternating 0s and 1s, 0s first; the string packs each count, from the fourth on as a difference
 * to the count two before, in 5-bit groups offset by 48). Hand-written: it is 30 lines, and no
 * browser package for it exists that is worth a dependency. Mirrors pycocotools' `rleFrString`.
 */

/** The compressed string → run lengths. Throws on characters outside the format. */
export function countsFromString(s) {
  const counts = [];
  let p = 0;
  while (p < s.length) {
    let x = 0, k = 0, more = true;
    while (more) {
      if (p >= s.length) throw new RangeError('RLE string ends in the middle of a count');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new RangeError('invalid character in RLE string');
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign of the last group
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    counts.push(x);
  }
  return counts;
}

/**
 * The run lengths of a `mask_rle`: `counts` base64 of the compressed string (Mediaflow and the
 * seed's format), the compressed string itself (COCO files), or already an array of runs.
 */
export function rleCounts(rle) {
  const c = rle.counts;
  if (Array.isArray(c)) return c;
  let s;
  try { s = atob(c); } catch { s = c; }
  try { return countsFromString(s); } catch { return countsFromString(c); }
}

/**
 * Writes `value` into `labels` (row-major, w×h) for every set pixel, and returns the mask's moments:
 * area, centroid (pixel centres at +0.5), and covariance (with the 1/12 of unit-square pixels, as
 * the server computes them).
 * @param {ArrayLike<number>} counts
 * @param {number} h
 * @param {number} w
 * @param {Uint8Array | Uint16Array | Uint32Array | Int32Array | number[]} labels
 * @param {number} value
 * @returns {{ area: number, centroid: [number, number] | null, cov: [number, number, number] | null }}
 */
export function paintRuns(counts, h, w, labels, value) {
  let pos = 0, n = 0, sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  const total = h * w;
  for (let j = 0; j < counts.length; j++) {
    const len = counts[j];
    if (j % 2 === 1) {
      for (let p = pos, end = Math.min(pos + len, total); p < end; p++) {
        const x = (p / h) | 0, y = p - x * h;
        labels[y * w + x] = value;
        const cx = x + 0.5, cy = y + 0.5;
        n++; sx += cx; sy += cy; sxx += cx * cx; syy += cy * cy; sxy += cx * cy;
      }
    }
    pos += len;
  }
  if (n === 0) return { area: 0, centroid: null, cov: null };
  const mx = sx / n, my = sy / n;
  return {
    area: n,
    centroid: [mx, my],
    cov: [sxx / n - mx * mx + 1 / 12, syy / n - my * my + 1 / 12, sxy / n - mx * my],
  };
}

/** Decodes to a row-major 0/1 mask (for tests and simple callers). */
export function decodeMask(rle) {
  const [h, w] = rle.size;
  const out = new Uint8Array(h * w);
  paintRuns(rleCounts(rle), h, w, out, 1);
  return out;
}

/**
 * Principal axis from a covariance [sxx, syy, sxy]: the angle in degrees counter-clockwise from the
 * image's horizontal axis as seen (image y points down), in (-90, 90], and the variances.
 * @param {readonly [number, number, number]} cov
 */
export function principalAxis([a, c, b]) {
  const mean = (a + c) / 2, d = Math.hypot((a - c) / 2, b);
  let deg = d < 1e-12 ? 0 : (-0.5 * Math.atan2(2 * b, a - c) * 180) / Math.PI;
  if (deg <= -90) deg += 180;
  return { angle: deg, major: mean + d, minor: Math.max(mean - d, 1e-12) };
}
