/**
 * Binary morphology with a square structuring element of radius `r` (side 2r+1), applied as r
 * rounds of 3×3 (a (2r+1)-square is the r-fold sum of 3×3 squares), each round two 1-D passes of
 * plain byte ANDs/ORs. Pixels outside the image count as background. Hand-written: the masks live in
 * typed arrays between other passes, and a round trip through an image library for a 3×3 opening
 * would cost more than the operation itself.
 */

/** Dilation: a pixel is set when any pixel of its (2r+1)² window is set. */
export function dilate(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  let m = mask;
  for (let i = 0; i < r; i++) m = vertical(horizontal(m, w, h, false), w, h, false);
  return m;
}

/** Erosion: a pixel stays set when every pixel of its (2r+1)² window is set. */
export function erode(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  let m = mask;
  for (let i = 0; i < r; i++) m = vertical(horizontal(m, w, h, true), w, h, true);
  return m;
}

/** Opening (erosion then dilation): removes specks and hairs thinner than 2r+1. */
export function open(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return r > 0 ? dilate(erode(mask, w, h, r), w, h, r) : mask;
}

/** Closing (dilation then erosion): bridges gaps and pits narrower than 2r+1. */
export function close(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return r > 0 ? erode(dilate(mask, w, h, r), w, h, r) : mask;
}

function horizontal(src: Uint8Array, w: number, h: number, and: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
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
  return out;
}

function vertical(src: Uint8Array, w: number, h: number, and: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const b = y * w;
    const up = y > 0 ? b - w : -1, down = y + 1 < h ? b + w : -1;
    if (and) {
      if (up < 0 || down < 0) continue; // rows at the border touch the outside
      for (let x = 0; x < w; x++) out[b + x] = src[up + x] & src[b + x] & src[down + x];
    } else {
      for (let x = 0; x < w; x++) out[b + x] = src[b + x] | (up >= 0 ? src[up + x] : 0) | (down >= 0 ? src[down + x] : 0);
    }
  }
  return out;
}
