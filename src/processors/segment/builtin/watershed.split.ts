/**
 * Splits touching objects: a watershed of the distance transform, flooded from its maxima down,
 * where two basins merge unless both are deep enough (persistence, the same selection of markers as
 * h-maxima). Two discs that touch meet at a neck much thinner than either disc, so each keeps its
 * own basin; the small bumps along the ridge of a long rectangle are shallower than the threshold,
 * so the rectangle stays whole.
 *
 * Hand-written because it runs on the typed arrays of the other passes; a union-find flood over a
 * bucket queue keeps it linear in the pixel count.
 */

export interface SplitOptions {
  /** Basins whose peak rises less than this above the saddle are merged (pixels). Default 2. */
  minDepth?: number;
  /** ...or less than this fraction of their own peak. Default 0.25. */
  minDepthRatio?: number;
}

/**
 * Relabels the set pixels of `mask` into basins. Returns labels (0 = background, 1..count) and count.
 * `dist` is the distance transform of `mask`.
 */
export function watershedSplit(mask: Uint8Array, dist: Float32Array, w: number, h: number, opts: SplitOptions = {}): { labels: Int32Array; count: number } {
  const minDepth = opts.minDepth ?? 2;
  const ratio = opts.minDepthRatio ?? 0.25;
  const n = w * h;
  // Bucket sort of the set pixels by distance, quarter-pixel levels, highest first.
  const Q = 4;
  let maxLevel = 0;
  for (let i = 0; i < n; i++) if (mask[i]) maxLevel = Math.max(maxLevel, Math.floor(dist[i] * Q));
  const start = new Int32Array(maxLevel + 2);
  for (let i = 0; i < n; i++) if (mask[i]) start[maxLevel - Math.floor(dist[i] * Q) + 1]++;
  for (let b = 1; b < start.length; b++) start[b] += start[b - 1];
  const order = new Int32Array(start[start.length - 1]);
  const fill = start.slice();
  for (let i = 0; i < n; i++) if (mask[i]) order[fill[maxLevel - Math.floor(dist[i] * Q)]++] = i;

  // Union-find over pixels; each root remembers its basin's peak.
  const parent = new Int32Array(n).fill(-1); // -1: not flooded yet
  const peak = new Float32Array(n);
  const find = (a: number): number => {
    while (parent[a] !== a) { parent[a] = parent[parent[a]]; a = parent[a]; }
    return a;
  };
  const deepEnough = (root: number, level: number): boolean => peak[root] - level >= Math.max(minDepth, ratio * peak[root]);
  const roots = new Int32Array(8);
  for (let k = 0; k < order.length; k++) {
    const p = order[k];
    const level = dist[p];
    const x = p % w, y = (p - x) / w;
    let nr = 0;
    let best = -1, bestDist = -1; // the flooded neighbour with the highest distance (steepest ascent)
    for (let dy = -1; dy <= 1; dy++) {
      const yy = y + dy;
      if (yy < 0 || yy >= h) continue;
      for (let dx = -1; dx <= 1; dx++) {
        const xx = x + dx;
        if ((dx === 0 && dy === 0) || xx < 0 || xx >= w) continue;
        const q = yy * w + xx;
        if (parent[q] < 0) continue;
        const r = find(q);
        if (dist[q] > bestDist) { bestDist = dist[q]; best = r; }
        let seen = false;
        for (let j = 0; j < nr; j++) if (roots[j] === r) { seen = true; break; }
        if (!seen) roots[nr++] = r;
      }
    }
    if (nr === 0) { // a new maximum
      parent[p] = p;
      peak[p] = level;
      continue;
    }
    // Merge every shallow basin into the highest one it touches here.
    let top = roots[0];
    for (let j = 1; j < nr; j++) if (peak[roots[j]] > peak[top]) top = roots[j];
    for (let j = 0; j < nr; j++) {
      const r = roots[j];
      if (r !== top && !deepEnough(r, level)) { // `top` has the higher peak, so it is at least as deep
        parent[r] = top;
        if (best === r) best = top;
      }
    }
    parent[p] = find(best);
  }
  const labels = new Int32Array(n);
  const ids = new Int32Array(n);
  let count = 0;
  for (let i = 0; i < n; i++) {
    if (parent[i] < 0) continue;
    const r = find(i);
    if (!ids[r]) ids[r] = ++count;
    labels[i] = ids[r];
  }
  return { labels, count };
}
