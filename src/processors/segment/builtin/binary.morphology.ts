/**
 * Binary morphology with square structuring elements: radius r (side 2r+1) is applied as r rounds
 * of 3×3 (a (2r+1)-square is the r-fold sum of 3×3 squares), each round two 1-D passes of plain
 * byte ANDs/ORs between two scratch buffers. Pixels outside the image count as background.
 * Hand-written: the masks live in typed arrays between other passes, and a round trip through an
 * image library for a 3×3 opening would cost more than the operation itself.
 */

export type MorphStep = readonly ['erode' | 'dilate', number];

/** Applies the steps in order; `mask` is left unchanged. */
export function morph(mask: Uint8Array, w: number, h: number, steps: readonly MorphStep[]): Uint8Array {
  const a = new Uint8Array(w * h), b = new Uint8Array(w * h);
  let cur = mask;
  for (const [op, r] of steps) {
    for (let i = 0; i < r; i++) {
      const and = op === 'erode';
      let dst = cur === a ? b : a;
      horizontal(cur, dst, w, h, and);
      cur = dst;
      dst = cur === a ? b : a;
      vertical(cur, dst, w, h, and);
      cur = dst;
    }
  }
  return cur === mask ? Uint8Array.from(mask) : cur;
}

/** Erosion: a pixel stays set when every pixel of its (2r+1)² window is set. */
export function erode(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return morph(mask, w, h, [['erode', r]]);
}

function horizontal(src: Uint8Array, out: Uint8Array, w: number, h: number, and: boolean): void {
  for (let y = 0; y < h; y++) {
    const b = y * w;
    if (w === 1) { out[b] = and ? 0 : src[b]; continue; }
    if (and) {
      out[b] = 0; // the outside is background
      for (let x = 1; x < w - 1; x++) out[b + x] = src[b + x - 1] & src[b + x] & src[b + x + 1];
      out[b + w - 1] = 0;
    } else {
      out[b] = src[b] | src[b + 1];
      for (let x = 1; x < w - 1; x++) out[b + x] = src[b + x - 1] | src[b + x] | src[b + x + 1];
      out[b + w - 1] = src[b + w - 2] | src[b + w - 1];
    }
  }
}

function vertical(src: Uint8Array, out: Uint8Array, w: number, h: number, and: boolean): void {
  for (let y = 0; y < h; y++) {
    const b = y * w;
    const up = y > 0 ? b - w : -1, down = y + 1 < h ? b + w : -1;
    if (and) {
      if (up < 0 || down < 0) { out.fill(0, b, b + w); continue; } // rows at the border touch the outside
      for (let x = 0; x < w; x++) out[b + x] = src[up + x] & src[b + x] & src[down + x];
    } else if (up >= 0 && down >= 0) {
      for (let x = 0; x < w; x++) out[b + x] = src[up + x] | src[b + x] | src[down + x];
    } else {
      const other = up >= 0 ? up : down;
      if (other < 0) out.set(src.subarray(b, b + w), b);
      else for (let x = 0; x < w; x++) out[b + x] = src[other + x] | src[b + x];
    }
  }
}
