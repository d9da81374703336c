import { contrastImage, fitBackground } from './background.model.js';
import { erode, morph } from './binary.morphology.js';
import { fillHoles, labelComponents, labelStats, type LabelBox } from './connected.components.js';
import { distanceTransformBox } from './distance.transform.js';
import { chooseThreshold, MAX_CONTRAST } from './threshold.js';
import { watershedSplit } from './watershed.split.js';

/**
 * The built-in segmentation engine: needs no weights, works on objects that stand out from a fairly
 * plain backdrop (parts on a table, coins, leaves on paper, a pen on a sheet). Steps: a light blur,
 * a background colour surface fitted from the border inwards, the colour distance to it, an automatic
 * threshold, an opening and a closing, hole filling, connected components, a distance-transform
 * watershed that splits touching objects, and a minimum area.
 */

export interface BuiltinOptions {
  /** Smallest object kept, in pixels of this image. Default: 0.01% of the image, at least 64. */
  minArea?: number;
  /** Split touching objects with a distance-transform watershed. Default true. */
  splitTouching?: boolean;
  /** Fill holes inside objects (a ring becomes a disc). Default true. */
  fillHoles?: boolean;
  /** Contrast threshold as a fraction (0..1] of the largest colour distance; automatic when absent. */
  threshold?: number;
  /** Smooth the image (a Gaussian of σ = 1 px) before thresholding. Default true. */
  smooth?: boolean;
  signal?: AbortSignal;
  onProgress?: (fraction: number, stage: string) => void;
}

export interface PixelImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 (grey), 3 (RGB) or 4 (RGBA). */
  channels: number;
}

export interface BuiltinSegmentation {
  width: number;
  height: number;
  /** Row-major labels: 0 background, 1..count the objects. */
  labels: Int32Array;
  count: number;
  area: Float64Array;
  boxes: LabelBox[];
  /** Per label (index 0 unused): a confidence from its mean contrast, `min(1, mean / (2·threshold))`. */
  score: Float64Array;
  /** The contrast threshold used (colour distance, 0..441). */
  threshold: number;
  /** Median background residual (colour distance); `null` when the alpha channel was used. */
  noise: number | null;
  /** `alpha` when the image's transparency gave the objects, else `background`. */
  cue: 'alpha' | 'background';
}

export function segmentPixels(img: PixelImage, opts: BuiltinOptions = {}): BuiltinSegmentation {
  const { width: w, height: h } = img;
  const n = w * h;
  const check = (): void => opts.signal?.throwIfAborted();
  const progress = opts.onProgress ?? (() => {});

  let contrast: Float32Array;
  let threshold: number;
  let noise: number | null = null;
  let cue: 'alpha' | 'background' = 'background';
  const alpha = img.channels === 4 ? usefulAlpha(img.data, n) : null;
  if (alpha) {
    // Transparency already says what is object: a cut-out on a transparent backdrop.
    contrast = alpha;
    threshold = 127.5;
    cue = 'alpha';
  } else {
    const rgb = blurRgb(img, opts.smooth ?? true);
    check();
    progress(0.15, 'background');
    const model = fitBackground(rgb, w, h);
    contrast = contrastImage(rgb, w, h, model);
    noise = model.noise;
    threshold = opts.threshold !== undefined ? opts.threshold * MAX_CONTRAST : chooseThreshold(contrast, model.noise);
  }
  check();
  progress(0.35, 'threshold');
  let mask: Uint8Array = new Uint8Array(n);
  for (let i = 0; i < n; i++) mask[i] = contrast[i] > threshold ? 1 : 0;
  // Opening removes specks and hair-thin features (ruled lines, scratches, cables) that are not
  // objects; its radius grows with the image so that it means the same at any resolution.
  const radius = Math.max(1, Math.min(3, Math.round(Math.min(w, h) / 400)));
  mask = morph(mask, w, h, [['erode', radius], ['dilate', radius], ['dilate', 1], ['erode', 1]]);
  if (opts.fillHoles ?? true) mask = fillHoles(mask, w, h);
  check();

  progress(0.5, 'components');
  const minArea = opts.minArea ?? Math.max(64, Math.round(n * 1e-4));
  let { labels, count } = labelComponents(mask, w, h);
  let stats = labelStats(labels, count, w, h);
  for (let i = 0; i < n; i++) {
    if (labels[i] && stats.area[labels[i]] < minArea) { mask[i] = 0; labels[i] = 0; }
  }
  // Outlines move to mid-edge before the split: the low detection threshold also fills the narrow
  // wedges beside the point where two objects touch, which would hide the neck from the watershed.
  if (cue === 'background') {
    refineEdges(mask, labels, count, contrast, erode(mask, w, h, 3), threshold);
    if (opts.fillHoles ?? true) mask = fillHoles(mask, w, h); // dark specks inside an object come back
    ({ labels, count } = labelComponents(mask, w, h));
    stats = labelStats(labels, count, w, h);
  }
  check();
  if (opts.splitTouching ?? true) {
    progress(0.65, 'splitting');
    // Computed object by object, inside each one's box.
    const dist = new Float32Array(n);
    for (let l = 1; l <= count; l++) distanceTransformBox(labels, l, stats.boxes[l], w, dist);
    check();
    ({ labels, count } = watershedSplit(mask, dist, w, h));
    stats = labelStats(labels, count, w, h);
  }
  check();
  progress(0.85, 'instances');
  // Pieces a split left below the minimum area are dropped; labels are renumbered 1..count.
  const remap = new Int32Array(count + 1);
  let kept = 0;
  for (let l = 1; l <= count; l++) if (stats.area[l] >= minArea) remap[l] = ++kept;
  const sum = new Float64Array(kept + 1);
  for (let i = 0; i < n; i++) {
    const l = remap[labels[i]];
    labels[i] = l;
    if (l) sum[l] += contrast[i];
  }
  const area = new Float64Array(kept + 1);
  const boxes: LabelBox[] = [stats.boxes[0]];
  const score = new Float64Array(kept + 1);
  for (let l = 1; l <= count; l++) {
    const k = remap[l];
    if (!k) continue;
    area[k] = stats.area[l];
    boxes[k] = stats.boxes[l];
    score[k] = cue === 'alpha' ? 1 : Math.min(1, sum[k] / area[k] / (2 * threshold));
  }
  return { width: w, height: h, labels, count: kept, area, boxes, score, threshold, noise, cue };
}

/**
 * Moves each object's outline to the middle of its own edge. The detection threshold is kept low so
 * that faint objects are found, but on a blurred (or antialiased) edge a low threshold puts the
 * outline a pixel or more outside the object; thin objects would lose much of their IoU, and the
 * narrow wedges beside the point where two objects touch fill up. So each object's pixels are kept
 * only where the contrast reaches half the object's own median contrast in its core (the mask eroded
 * by 3 px): where an edge is half-way between backdrop and object. Clears pixels of `mask` in place.
 */
function refineEdges(mask: Uint8Array, labels: Int32Array, count: number, contrast: Float32Array, core: Uint8Array, threshold: number): void {
  const BINS = 256, BIN = MAX_CONTRAST / (BINS - 1);
  const hist = new Uint32Array((count + 1) * BINS);
  const total = new Uint32Array(count + 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!l || !core[i]) continue;
    hist[l * BINS + Math.min(BINS - 1, Math.round(contrast[i] / BIN))]++;
    total[l]++;
  }
  const cut = new Float32Array(count + 1);
  for (let l = 1; l <= count; l++) {
    if (!total[l]) { cut[l] = threshold; continue; } // too thin to have a core: keep as detected
    let acc = 0, b = 0;
    for (; b < BINS; b++) { acc += hist[l * BINS + b]; if (acc * 2 >= total[l]) break; }
    cut[l] = Math.max(threshold, (b * BIN) / 2);
  }
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (l && contrast[i] < cut[l]) mask[i] = 0;
  }
}

/** The alpha channel as a float image, when it really separates transparent from opaque pixels. */
function usefulAlpha(data: Uint8Array, n: number): Float32Array | null {
  let transparent = 0, opaque = 0;
  for (let i = 0; i < n; i++) {
    if (data[i * 4 + 3] < 128) transparent++;
    else opaque++;
  }
  if (transparent < n * 0.01 || opaque === 0) return null;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = data[i * 4 + 3];
  return out;
}

/**
 * Interleaved RGB floats (grey spread to 3 channels), smoothed with the 5-tap binomial kernel
 * [1 4 6 4 1]/16 in each direction (a Gaussian of σ = 1): enough to calm sensor noise before
 * thresholding, small enough to keep corners, and cheap.
 */
function blurRgb(img: PixelImage, smooth: boolean): Float32Array {
  const { width: w, height: h, channels: ch, data } = img;
  const n = w * h;
  const src = new Float32Array(n * 3);
  for (let i = 0, k = 0; i < n; i++, k += ch) {
    if (ch >= 3) { src[i * 3] = data[k]; src[i * 3 + 1] = data[k + 1]; src[i * 3 + 2] = data[k + 2]; }
    else src[i * 3] = src[i * 3 + 1] = src[i * 3 + 2] = data[k];
  }
  if (!smooth || w < 5 || h < 5) return src;
  const rowLen = w * 3;
  // Rows, in place through one row buffer: the interior without bounds checks, two pixels at each
  // end with clamping.
  const row = new Float32Array(rowLen);
  for (let y = 0; y < h; y++) {
    const o = y * rowLen;
    row.set(src.subarray(o, o + rowLen));
    for (const x of [0, 1, w - 2, w - 1]) {
      const xm2 = x < 2 ? 0 : x - 2, xm1 = x < 1 ? 0 : x - 1, xp1 = x + 1 >= w ? w - 1 : x + 1, xp2 = x + 2 >= w ? w - 1 : x + 2;
      for (let c = 0; c < 3; c++) {
        src[o + x * 3 + c] = (row[xm2 * 3 + c] + row[xp2 * 3 + c] + 4 * (row[xm1 * 3 + c] + row[xp1 * 3 + c]) + 6 * row[x * 3 + c]) * 0.0625;
      }
    }
    for (let k = 6, end = (w - 2) * 3; k < end; k++) {
      src[o + k] = (row[k - 6] + row[k + 6] + 4 * (row[k - 3] + row[k + 3]) + 6 * row[k]) * 0.0625;
    }
  }
  // Columns, in place, row by row: the two rows above are kept as they were before being overwritten.
  let above2 = new Float32Array(rowLen), above1 = new Float32Array(rowLen), current = new Float32Array(rowLen);
  above2.set(src.subarray(0, rowLen));
  above1.set(src.subarray(0, rowLen));
  for (let y = 0; y < h; y++) {
    const c0 = y * rowLen;
    current.set(src.subarray(c0, c0 + rowLen));
    const p1 = (y + 1 >= h ? h - 1 : y + 1) * rowLen, p2 = (y + 2 >= h ? h - 1 : y + 2) * rowLen;
    for (let k = 0; k < rowLen; k++) {
      src[c0 + k] = (above2[k] + src[p2 + k] + 4 * (above1[k] + src[p1 + k]) + 6 * current[k]) * 0.0625;
    }
    // rows y+1 and y+2 are not written yet, except when clamped to y itself at the bottom edge
    if (y + 1 >= h) break;
    const spare = above2;
    above2 = above1;
    above1 = current;
    current = spare;
  }
  return src;
}
