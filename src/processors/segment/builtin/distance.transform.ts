/**
 * Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled
 * Functions", 2012): two passes of the 1-D lower-envelope algorithm, linear in the pixel count.
 * Returns, for each set pixel, the distance to the nearest unset pixel; pixels outside the image
 * count as unset, so an object cut by the border is as thick as its visible part.
 */
export function distanceTransform(mask: Uint8Array, w: number, h: number): Float32Array {
  const INF = 1e20;
  const n = Math.max(w, h) + 2;
  const f = new Float64Array(n), d = new Float64Array(n), z = new Float64Array(n + 1);
  const v = new Int32Array(n);
  const sq = new Float64Array(w * h);
  // Columns, padded with one unset pixel at each end (the outside of the image).
  for (let x = 0; x < w; x++) {
    f[0] = 0;
    for (let y = 0; y < h; y++) f[y + 1] = mask[y * w + x] ? INF : 0;
    f[h + 1] = 0;
    envelope(f, h + 2, d, v, z);
    for (let y = 0; y < h; y++) sq[y * w + x] = d[y + 1];
  }
  const out = new Float32Array(w * h);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    f[0] = 0;
    for (let x = 0; x < w; x++) f[x + 1] = sq[row + x];
    f[w + 1] = 0;
    envelope(f, w + 2, d, v, z);
    for (let x = 0; x < w; x++) out[row + x] = Math.sqrt(d[x + 1]);
  }
  return out;
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
