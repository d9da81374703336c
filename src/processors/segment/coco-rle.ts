/**
 * COCO run-length encoding, byte-for-byte compatible with pycocotools (`maskApi.c`).
 *
 * A mask of `h` rows and `w` columns is read in column-major order (down the first column, then the
 * next); `counts` alternates runs of 0s and 1s, starting with 0s (so `counts[0]` is 0 when the first
 * pixel is set). The compressed string form is pycocotools' `rleToString`: each count (from the
 * fourth on, as a difference to the count two places earlier) in 5-bit groups, low first, as the
 * characters 48..111, bit 0x20 meaning "more groups follow" and bit 0x10 of the last group the sign.
 *
 * Hand-written rather than taken from a package: the npm registry has no maintained TypeScript port,
 * and the seed's clients decode our strings with pycocotools, so every quirk (the delta coding only
 * from index 3, the sign extension) is reproduced here and tested against pycocotools' own vectors.
 */

/** A run-length encoded mask (pycocotools' `RLE`). */
export interface Rle {
  /** Rows. */
  h: number;
  /** Columns. */
  w: number;
  /** Alternating run lengths, 0s first, column-major; they sum to `h * w`. */
  counts: Uint32Array;
}

/** The JSON form COCO files and pycocotools use: `{size: [h, w], counts: "<compressed string>"}`. */
export interface CocoRleJson {
  size: [number, number];
  counts: string;
}

/** Encodes a row-major mask (`mask[y * w + x]`, non-zero = set) of `h` rows and `w` columns. */
export function rleEncode(mask: ArrayLike<number>, h: number, w: number): Rle {
  if (mask.length !== h * w) throw new RangeError(`mask has ${mask.length} values, expected ${h}x${w}`);
  const runs: number[] = [];
  let prev = 0;
  let run = 0;
  for (let x = 0; x < w; x++) {
    for (let i = x, end = x + h * w; i < end; i += w) {
      const v = mask[i] ? 1 : 0;
      if (v !== prev) { runs.push(run); run = 0; prev = v; }
      run++;
    }
  }
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}

/** An inclusive pixel box. */
export interface PixelBox { x0: number; y0: number; x1: number; y1: number }

/**
 * Encodes the pixels `(x, y)` inside `box` for which `test(x, y)` holds; every pixel outside the box
 * is unset. Lets a label image or a probability map become one RLE per instance without building a
 * full-size mask per instance.
 */
export function rleFromPredicate(h: number, w: number, box: PixelBox, test: (x: number, y: number) => boolean): Rle {
  const runs: number[] = [];
  const x0 = Math.max(0, box.x0), y0 = Math.max(0, box.y0), x1 = Math.min(w - 1, box.x1), y1 = Math.min(h - 1, box.y1);
  if (x1 < x0 || y1 < y0) return { h, w, counts: Uint32Array.of(h * w) };
  // Pixels before the box's first column are 0s.
  let prev = 0;
  let run = x0 * h;
  for (let x = x0; x <= x1; x++) {
    if (y0 > 0) { // rows above the box in this column
      if (prev !== 0) { runs.push(run); run = 0; prev = 0; }
      run += y0;
    }
    for (let y = y0; y <= y1; y++) {
      const v = test(x, y) ? 1 : 0;
      if (v !== prev) { runs.push(run); run = 0; prev = v; }
      run++;
    }
    const below = h - 1 - y1;
    if (below > 0) {
      if (prev !== 0) { runs.push(run); run = 0; prev = 0; }
      run += below;
    }
  }
  const after = (w - 1 - x1) * h;
  if (after > 0) {
    if (prev !== 0) { runs.push(run); run = 0; prev = 0; }
    run += after;
  }
  runs.push(run);
  return { h, w, counts: Uint32Array.from(runs) };
}

/** Encodes the pixels of a row-major label image equal to `label`; all of them lie inside `box`. */
export function rleFromLabels(labels: ArrayLike<number>, h: number, w: number, label: number, box: PixelBox): Rle {
  return rleFromPredicate(h, w, box, (x, y) => labels[y * w + x] === label);
}

/** Decodes to a row-major mask of 0/1 bytes. Throws when the counts do not add up to `h * w`. */
export function rleDecode(rle: Rle): Uint8Array {
  const { h, w, counts } = rle;
  const out = new Uint8Array(h * w);
  let x = 0, y = 0; // where the next run starts
  let total = 0;
  for (let j = 0; j < counts.length; j++) {
    let n = counts[j];
    total += n;
    if (total > h * w) throw new RangeError('RLE counts exceed the mask size');
    if (j % 2 === 0) {
      y += n;
      x += Math.floor(y / h);
      y %= h;
      continue;
    }
    while (n > 0) {
      const take = Math.min(n, h - y);
      for (let i = y * w + x, end = (y + take) * w + x; i < end; i += w) out[i] = 1;
      n -= take;
      y += take;
      if (y === h) { y = 0; x++; }
    }
  }
  if (total !== h * w) throw new RangeError(`RLE counts sum to ${total}, expected ${h * w}`);
  return out;
}

/** pycocotools' `rleToString`: the compressed string of the counts. */
export function rleToString(counts: ArrayLike<number>): string {
  const chars: number[] = [];
  for (let i = 0; i < counts.length; i++) {
    let x = counts[i] - (i > 2 ? counts[i - 2] : 0);
    let more = true;
    while (more) {
      // `& 0x1f` keeps the low five bits of the two's complement, as C does for negative longs.
      let c = x & 0x1f;
      x = Math.floor(x / 32); // arithmetic shift, also for negative differences
      more = c & 0x10 ? x !== -1 : x !== 0;
      if (more) c |= 0x20;
      chars.push(c + 48);
    }
  }
  // Chunked so very long strings do not overflow the argument limit of fromCharCode.
  let s = '';
  for (let i = 0; i < chars.length; i += 8192) s += String.fromCharCode(...chars.slice(i, i + 8192));
  return s;
}

/** pycocotools' `rleFrString`: parses a compressed string. Throws on characters outside 48..111. */
export function rleFrString(s: string, h: number, w: number): Rle {
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let x = 0;
    let k = 0;
    let more = true;
    while (more) {
      if (p >= s.length) throw new RangeError('RLE string ends in the middle of a count');
      const c = s.charCodeAt(p) - 48;
      if (c < 0 || c > 63) throw new RangeError(`invalid character ${JSON.stringify(s[p])} in RLE string`);
      x += (c & 0x1f) * 2 ** (5 * k);
      more = (c & 0x20) !== 0;
      p++;
      k++;
      if (!more && c & 0x10) x -= 2 ** (5 * k); // sign extension of the last group
    }
    if (counts.length > 2) x += counts[counts.length - 2];
    if (x < 0 || x > 0xffffffff) throw new RangeError('RLE string decodes to an invalid count');
    counts.push(x);
  }
  return { h, w, counts: Uint32Array.from(counts) };
}

/** Pixels set (pycocotools' `area`). */
export function rleArea(rle: Rle): number {
  let a = 0;
  for (let j = 1; j < rle.counts.length; j += 2) a += rle.counts[j];
  return a;
}

/** The tight box `[x, y, width, height]` of the set pixels; all zeros for an empty mask (pycocotools' `toBbox`). */
export function rleToBbox(rle: Rle): [number, number, number, number] {
  const { h, counts } = rle;
  let xs = Infinity, ys = Infinity, xe = -1, ye = -1;
  let pos = 0;
  for (let j = 0; j < counts.length; j++) {
    const n = counts[j];
    if (j % 2 === 1 && n > 0) {
      const first = pos, last = pos + n - 1;
      const x0 = Math.floor(first / h), x1 = Math.floor(last / h);
      xs = Math.min(xs, x0);
      xe = Math.max(xe, x1);
      if (x1 > x0) { ys = 0; ye = h - 1; } // the run wraps into a later column: it covers every row
      else {
        ys = Math.min(ys, first - x0 * h);
        ye = Math.max(ye, last - x0 * h);
      }
    }
    pos += n;
  }
  if (xe < 0) return [0, 0, 0, 0];
  return [xs, ys, xe - xs + 1, ye - ys + 1];
}

/** Union (or intersection) of masks of one size (pycocotools' `merge`). */
export function rleMerge(rles: readonly Rle[], intersect = false): Rle {
  if (rles.length === 0) return { h: 0, w: 0, counts: new Uint32Array(0) };
  let acc = rles[0];
  for (let i = 1; i < rles.length; i++) {
    const b = rles[i];
    if (b.h !== acc.h || b.w !== acc.w) throw new RangeError('cannot merge masks of different sizes');
    // Runs alternate starting with 0s; a leading empty 0-run is kept when the result starts set.
    const out: number[] = [0];
    walkPair(acc, b, (n, va, vb) => {
      const v = intersect ? va & vb : va | vb;
      if ((out.length - 1) % 2 === v) out[out.length - 1] += n;
      else out.push(n);
    });
    acc = { h: acc.h, w: acc.w, counts: Uint32Array.from(out) };
  }
  return acc;
}

/**
 * IoU of each detection with each ground truth (pycocotools' `iou`): `result[d][g]`. For a crowd
 * ground truth the union is the detection's area. Masks of different sizes give -1.
 */
export function rleIou(dt: readonly Rle[], gt: readonly Rle[], iscrowd: readonly boolean[] = []): number[][] {
  return dt.map((d) => gt.map((g, gi) => {
    if (d.h !== g.h || d.w !== g.w) return -1;
    let inter = 0, union = 0;
    walkPair(d, g, (n, va, vb) => {
      if (va | vb) union += n;
      if (va & vb) inter += n;
    });
    if (inter === 0) return 0;
    return inter / (iscrowd[gi] ? rleArea(d) : union);
  }));
}

/** IoU of two masks of one size. */
export function maskIou(a: Rle, b: Rle): number {
  return rleIou([a], [b])[0][0];
}

/**
 * Walks two RLEs of one size together, calling `emit(n, va, vb)` for each stretch of `n` pixels
 * over which neither mask changes.
 */
function walkPair(a: Rle, b: Rle, emit: (n: number, va: number, vb: number) => void): void {
  let ia = 0, ib = 0;
  let ra = a.counts[0] ?? 0, rb = b.counts[0] ?? 0;
  let va = 0, vb = 0;
  // Skip leading empty runs (a mask starting with a set pixel has counts[0] = 0).
  const advance = (): void => {
    while (ra === 0 && ia + 1 < a.counts.length) { ra = a.counts[++ia]; va ^= 1; }
    while (rb === 0 && ib + 1 < b.counts.length) { rb = b.counts[++ib]; vb ^= 1; }
  };
  advance();
  while (ra > 0 && rb > 0) {
    const n = Math.min(ra, rb);
    emit(n, va, vb);
    ra -= n;
    rb -= n;
    advance();
  }
}

/** `{size, counts}` with the compressed string, as in COCO JSON files. */
export function toCocoJson(rle: Rle): CocoRleJson {
  return { size: [rle.h, rle.w], counts: rleToString(rle.counts) };
}

export function fromCocoJson(json: CocoRleJson): Rle {
  return rleFrString(json.counts, json.size[0], json.size[1]);
}

/**
 * The seed's `mask_rle`: the compressed string in base64, so that
 * `pycocotools.mask.decode({"size": [h, w], "counts": base64.b64decode(counts)})` gives the mask back.
 */
export function toSeedRle(rle: Rle): { counts: string; size: [number, number] } {
  return { counts: Buffer.from(rleToString(rle.counts), 'latin1').toString('base64'), size: [rle.h, rle.w] };
}

export function fromSeedRle(json: { counts: string; size: [number, number] }): Rle {
  return rleFrString(Buffer.from(json.counts, 'base64').toString('latin1'), json.size[0], json.size[1]);
}
