import type { AppConfig } from '../../config/config.schema.js';
import { segmentPixels, type PixelImage } from './builtin/builtin.engine.js';
import { rleFromPredicate, rleToBbox, toSeedRle, type Rle } from './coco-rle.js';
import { loadImage, resizePixels } from './segment.image.js';
import { rleMoments, type MaskMoments } from './mask.moments.js';
import type { Detection } from './onnx/model.types.js';
import type { SegmentParamsInput } from './segment.params.js';

/**
 * `segmentImage`: decode, run an engine, and describe every object the way the seed's mask server
 * did (`mask_id`, `mask_rle`) plus score, class, box, area, centroid and principal-axis angle.
 * Pure (no job context), so that the processor, the compat routes and the CLI share it.
 */

/** One object, in the shape the seed's `/predict` returned plus Mediaflow's additions. */
export interface SegmentInstance {
  /** 0-based, in result order. */
  mask_id: number;
  /** The seed's field: COCO compressed RLE (pycocotools' string, column-major) in base64, and `[height, width]`. */
  mask_rle: { counts: string; size: [number, number] };
  /** Model confidence, or the built-in engine's contrast score (0..1). */
  score: number;
  /** Class name when a model gives one, else null. */
  class: string | null;
  class_id: number | null;
  /** `[x, y, width, height]` of the mask, pixels. */
  bbox: [number, number, number, number];
  /** Pixels in the mask. */
  area: number;
  /** Mean pixel position `[x, y]`. */
  centroid: [number, number];
  /** Principal axis, degrees counter-clockwise from the image's horizontal, in (-90, 90]. */
  angle: number;
  /** Ratio of the principal variances (≥ 1); near 1 the angle means little. */
  elongation: number;
}

export interface SegmentResult {
  /** The engine that ran: `builtin` or the model's name. */
  engine: string;
  width: number;
  height: number;
  count: number;
  instances: SegmentInstance[];
  /** Built-in engine details: threshold and noise are colour distances (0..441). */
  builtin?: { threshold: number; noise: number | null; cue: 'alpha' | 'background'; scale: number };
  model?: { format: string };
}

/** An instance with its mask and moments kept (for the overlay and orientation). */
export interface SegmentedObject {
  instance: SegmentInstance;
  rle: Rle;
  moments: MaskMoments;
}

export interface SegmentHooks {
  signal?: AbortSignal;
  onProgress?: (fraction: number, stage: string) => void;
}

/** The built-in engine works on at most this many pixels; larger images are analysed downscaled. */
const BUILTIN_WORK_PIXELS = 2_000_000;

/** Segments an image file (or its bytes). Throws InputError for undecodable or oversized images. */
export async function segmentImage(input: string | Buffer, params: SegmentParamsInput, config: AppConfig, signal?: AbortSignal, onProgress?: SegmentHooks['onProgress']): Promise<SegmentResult> {
  const image = await loadImage(input, config);
  return (await segmentDecoded(image, params, config, { signal, onProgress })).result;
}

/** Segments a decoded image; also returns the masks for callers that draw or measure them. */
export async function segmentDecoded(image: PixelImage, params: SegmentParamsInput, config: AppConfig, hooks: SegmentHooks = {}): Promise<{ result: SegmentResult; objects: SegmentedObject[] }> {
  const engine = params.engine ?? 'builtin';
  const progress = hooks.onProgress ?? (() => {});
  const maxInstances = params.max_instances ?? 100;
  hooks.signal?.throwIfAborted();
  let detections: Detection[];
  let extra: Pick<SegmentResult, 'builtin' | 'model'>;
  if (engine === 'builtin') {
    ({ detections, extra } = await runBuiltin(image, params, hooks));
  } else {
    progress(0.1, 'model');
    // Loaded only when a model is asked for: onnxruntime is heavy.
    const { runModelEngine } = await import('./onnx/model.engine.js');
    const run = await runModelEngine(engine, image, config, {
      scoreThreshold: params.score_threshold ?? 0.5,
      maskThreshold: params.mask_threshold ?? 0.5,
      iouThreshold: params.iou_threshold ?? 0.7,
      // With a class filter the best N of those classes may lie beyond the first N overall.
      maxInstances: params.classes?.length ? 1000 : maxInstances,
      signal: hooks.signal,
    });
    detections = run.detections;
    extra = { model: { format: run.format } };
  }
  hooks.signal?.throwIfAborted();
  progress(0.9, 'measuring');

  const wanted = params.classes?.length && engine !== 'builtin' ? new Set(params.classes) : null;
  const minScore = params.score_threshold ?? (engine === 'builtin' ? 0 : 0.5);
  const minArea = engine === 'builtin' ? 0 : params.min_area ?? 0; // the built-in engine applied it already
  const kept: Array<{ d: Detection; moments: MaskMoments }> = [];
  for (const d of detections) {
    if (d.score < minScore) continue;
    if (wanted && !(wanted.has(String(d.classId)) || (d.className !== null && wanted.has(d.className)))) continue;
    const moments = rleMoments(d.rle);
    if (!moments || moments.area < minArea) continue;
    kept.push({ d, moments });
  }
  // Models: best first; the built-in engine: largest first (its scores are contrasts, not beliefs).
  kept.sort(engine === 'builtin' ? (a, b) => b.moments.area - a.moments.area : (a, b) => b.d.score - a.d.score);
  const objects: SegmentedObject[] = kept.slice(0, maxInstances).map(({ d, moments }, i) => ({ rle: d.rle, moments, instance: toInstance(i, d, moments) }));
  const result: SegmentResult = {
    engine,
    width: image.width,
    height: image.height,
    count: objects.length,
    instances: objects.map((o) => o.instance),
    ...extra,
  };
  progress(1, 'done');
  return { result, objects };
}

async function runBuiltin(image: PixelImage, params: SegmentParamsInput, hooks: SegmentHooks): Promise<{ detections: Detection[]; extra: Pick<SegmentResult, 'builtin'> }> {
  const { width: W, height: H } = image;
  const scale = Math.min(1, Math.sqrt(BUILTIN_WORK_PIXELS / (W * H)));
  const work = scale < 1 ? await resizePixels(image, Math.max(1, Math.round(W * scale)), Math.max(1, Math.round(H * scale)), 'lanczos3') : image;
  const sx = work.width / W, sy = work.height / H;
  const seg = segmentPixels(work, {
    minArea: params.min_area !== undefined ? Math.max(1, Math.round(params.min_area * sx * sy)) : undefined,
    splitTouching: params.split_touching,
    fillHoles: params.fill_holes,
    threshold: params.threshold,
    signal: hooks.signal,
    onProgress: (f, stage) => hooks.onProgress?.(0.05 + f * 0.8, stage),
  });
  const detections: Detection[] = [];
  for (let l = 1; l <= seg.count; l++) {
    const b = seg.boxes[l];
    let rle: Rle;
    if (scale === 1) {
      rle = rleFromPredicate(H, W, b, (x, y) => seg.labels[y * W + x] === l);
    } else {
      // Back to full size, nearest neighbour: each full-size pixel takes the label under its centre.
      const box = { x0: Math.floor(b.x0 / sx) - 1, y0: Math.floor(b.y0 / sy) - 1, x1: Math.ceil((b.x1 + 1) / sx), y1: Math.ceil((b.y1 + 1) / sy) };
      const ww = work.width, wh = work.height;
      rle = rleFromPredicate(H, W, box, (x, y) => {
        const wx = Math.min(ww - 1, Math.floor((x + 0.5) * sx)), wy = Math.min(wh - 1, Math.floor((y + 0.5) * sy));
        return seg.labels[wy * ww + wx] === l;
      });
    }
    detections.push({ rle, score: seg.score[l], classId: null, className: null });
  }
  return { detections, extra: { builtin: { threshold: round(seg.threshold, 2), noise: seg.noise === null ? null : round(seg.noise, 2), cue: seg.cue, scale: round(scale, 4) } } };
}

function toInstance(id: number, d: Detection, m: MaskMoments): SegmentInstance {
  return {
    mask_id: id,
    mask_rle: toSeedRle(d.rle),
    score: round(d.score, 4),
    class: d.className,
    class_id: d.classId,
    bbox: rleToBbox(d.rle),
    area: m.area,
    centroid: [round(m.centroid[0], 2), round(m.centroid[1], 2)],
    angle: round(m.angle, 3),
    elongation: round(m.elongation, 3),
  };
}

function round(v: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
