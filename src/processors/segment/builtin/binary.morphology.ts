/**
 * Binary morphology with a square structuring element of radius `r` (side 2r+1), done as two 1-D
 * passes with running counts, so the cost does not depend on `r`. Pixels outside the image count as
 * background. Hand-written: the masks live in typed arrays between other passes, and a round trip
 * through an image library for a 3×3 opening would cost more than the operation itself.
 */

/** Dilation: a pixel is set when any pixel of its (2r+1)² window is set. */
export function dilate(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return pass(pass(mask, w, h, r, false, true), w, h, r, false, false);
}

/** Erosion: a pixel stays set when every pixel of its (2r+1)² window is set. */
export function erode(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return pass(pass(mask, w, h, r, true, true), w, h, r, true, false);
}

/** Opening (erosion then dilation): removes specks and hairs thinner than 2r+1. */
export function open(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return r > 0 ? dilate(erode(mask, w, h, r), w, h, r) : mask;
}

/** Closing (dilation then erosion): bridges gaps and pits narrower than 2r+1. */
export function close(mask: Uint8Array, w: number, h: number, r: number): Uint8Array {
  return r > 0 ? erode(dilate(mask, w, h, r), w, h, r) : mask;
}

/** One 1-D pass along rows (`horizontal`) or columns: counts set pixels in a sliding window. */
function pass(src: Uint8Array, w: number, h: number, r: number, all: boolean, horizontal: boolean): Uint8Array {
  const out = new Uint8Array(w * h);
  const lines = horizontal ? h : w;
  const len = horizontal ? w : h;
  const step = horizontal ? 1 : w;
  const full = 2 * r + 1;
  for (let l = 0; l < lines; l++) {
    const base = horizontal ? l * w : l;
    let count = 0;
    // window [i - r, i + r]; prime it with [0, r - 1]
    for (let k = 0; k < r && k < len; k++) count += src[base + k * step];
    for (let i = 0; i < len; i++) {
      const add = i + r;
      if (add < len) count += src[base + add * step];
      const drop = i - r - 1;
      if (drop >= 0) count -= src[base + drop * step];
      out[base + i * step] = all ? (count === full ? 1 : 0) : count > 0 ? 1 : 0;
    }
  }
  return out;
}
