/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012): two passes of the 1-D lower-envelope algorithm, linear in the pixel count.
 */

/**
 * The distance from each pixel of one label to the nearest pixel that is not of that label (pixels
 * outside the image included, so an object cut by the border is as thick as its visible part),
 * computed inside the label's box only and written into `out` for the label's pixels. Components
 * are maximal 8-connected sets, so the pixels around one are background anyway; doing it per
 * object costs the sum of the boxes' areas instead of the whole image's.
 */
export function distanceTransformBox(labels: Int32Array, label: number, box: { x0: number; y0: number; x1: number; y1: number }, w: number, out: Float32Array): void {
  const INF = 1e20;
  const bw = box.x1 - box.x0 + 1, bh = box.y1 - box.y0 + 1;
  const n = Math.max(bw, bh) + 2;
  const f = new Float64Array(n), d = new Float64Array(n), z = new Float64Array(n + 1);
  const v = new Int32Array(n);
  const sq = new Float64Array(bw * bh);
  // Columns, padded with one unset pixel at each end (outside the box everything is unset).
  for (let bx = 0; bx < bw; bx++) {
    const x = box.x0 + bx;
    f[0] = 0;
    for (let by = 0; by < bh; by++) f[by + 1] = labels[(box.y0 + by) * w + x] === label ? INF : 0;
    f[bh + 1] = 0;
    envelope(f, bh + 2, d, v, z);
    for (let by = 0; by < bh; by++) sq[by * bw + bx] = d[by + 1];
  }
  for (let by = 0; by < bh; by++) {
    f[0] = 0;
    for (let bx = 0; bx < bw; bx++) f[bx + 1] = sq[by * bw + bx];
    f[bw + 1] = 0;
    envelope(f, bw + 2, d, v, z);
    const row = (box.y0 + by) * w + box.x0;
    for (let bx = 0; bx < bw; bx++) if (labels[row + bx] === label) out[row + bx] = Math.sqrt(d[bx + 1]);
  }
}

/** 1-D squared distance transform of the sampled function f[0..n): d[q] = min_p (q − p)² + f[p]. */
function envelope(f: Float64Array, n: number, d: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    if (f[q] >= 1e20) continue; // an infinite parabola never forms part of the envelope
    let s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    while (s <= z[k]) {
      k--;
      s = ((f[q] + q * q) - (f[v[k]] + v[k] * v[k])) / (2 * q - 2 * v[k]);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}
