/**
 * Connected components and hole filling on binary masks stored as row-major Uint8Arrays.
 * Two-pass labelling with a union-find over provisional labels: linear time, no per-pixel objects.
 */

export interface Components {
  /** Row-major labels: 0 background, 1..count the components. */
  labels: Int32Array;
  count: number;
}

/** Labels the 8-connected components of the set pixels. */
export function labelComponents(mask: Uint8Array, w: number, h: number): Components {
  const labels = new Int32Array(w * h);
  let parent = new Int32Array(1024);
  let next = 1;
  const find = (a: number): number => {
    while (parent[a] !== a) { parent[a] = parent[parent[a]]; a = parent[a]; }
    return a;
  };
  const union = (a: number, b: number): number => {
    a = find(a); b = find(b);
    if (a === b) return a;
    if (a < b) { parent[b] = a; return a; }
    parent[a] = b;
    return b;
  };
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      const i = row + x;
      if (!mask[i]) continue;
      // Already-visited neighbours: W, NW, N, NE.
      let l = 0;
      if (x > 0 && labels[i - 1]) l = labels[i - 1];
      if (y > 0) {
        const up = i - w;
        if (x > 0 && labels[up - 1]) l = l ? union(l, labels[up - 1]) : labels[up - 1];
        if (labels[up]) l = l ? union(l, labels[up]) : labels[up];
        if (x + 1 < w && labels[up + 1]) l = l ? union(l, labels[up + 1]) : labels[up + 1];
      }
      if (!l) {
        if (next >= parent.length) {
          const grown = new Int32Array(parent.length * 2);
          grown.set(parent);
          parent = grown;
        }
        parent[next] = next;
        l = next++;
      }
      labels[i] = l;
    }
  }
  // Resolve to consecutive final labels.
  const final = new Int32Array(next);
  let count = 0;
  for (let l = 1; l < next; l++) {
    const r = find(l);
    if (r === l) final[l] = ++count;
  }
  for (let l = 1; l < next; l++) final[l] = final[find(l)];
  for (let i = 0; i < labels.length; i++) if (labels[i]) labels[i] = final[labels[i]];
  return { labels, count };
}

/**
 * Sets every background pixel that cannot reach the image border through 4-connected background:
 * the holes of the objects (a ring becomes a disc). A scanline flood fill from the border: it walks
 * runs of pixels rather than single pixels, several times faster than a pixel queue.
 */
export function fillHoles(mask: Uint8Array, w: number, h: number): Uint8Array {
  const outside = new Uint8Array(w * h);
  let stack = new Int32Array(4096);
  let sp = 0;
  const push = (i: number): void => {
    if (sp === stack.length) {
      const grown = new Int32Array(stack.length * 2);
      grown.set(stack);
      stack = grown;
    }
    stack[sp++] = i;
  };
  for (let x = 0; x < w; x++) { push(x); push((h - 1) * w + x); }
  for (let y = 1; y < h - 1; y++) { push(y * w); push(y * w + w - 1); }
  while (sp > 0) {
    const i = stack[--sp];
    if (mask[i] || outside[i]) continue;
    const row = i - (i % w);
    let l = i, r = i;
    while (l > row && !mask[l - 1] && !outside[l - 1]) l--;
    while (r < row + w - 1 && !mask[r + 1] && !outside[r + 1]) r++;
    outside.fill(1, l, r + 1);
    // One seed per run of open pixels in the rows above and below the span.
    for (const off of [-w, w]) {
      if (row + off < 0 || row + off >= w * h) continue;
      let open = false;
      for (let j = l + off; j <= r + off; j++) {
        const free = !mask[j] && !outside[j];
        if (free && !open) push(j);
        open = free;
      }
    }
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < out.length; i++) out[i] = outside[i] ^ 1;
  return out;
}

export interface LabelBox { x0: number; y0: number; x1: number; y1: number }

/** Area and tight box of each label 1..count (index 0 unused). */
export function labelStats(labels: Int32Array, count: number, w: number, h: number): { area: Float64Array; boxes: LabelBox[] } {
  const area = new Float64Array(count + 1);
  const x0 = new Int32Array(count + 1).fill(w), y0 = new Int32Array(count + 1).fill(h);
  const x1 = new Int32Array(count + 1).fill(-1), y1 = new Int32Array(count + 1).fill(-1);
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i++) {
      const l = labels[i];
      if (!l) continue;
      area[l]++;
      if (x < x0[l]) x0[l] = x;
      if (x > x1[l]) x1[l] = x;
      if (y < y0[l]) y0[l] = y;
      y1[l] = y;
    }
  }
  const boxes: LabelBox[] = [];
  for (let l = 0; l <= count; l++) boxes.push({ x0: x0[l], y0: y0[l], x1: x1[l], y1: y1[l] });
  return { area, boxes };
}
