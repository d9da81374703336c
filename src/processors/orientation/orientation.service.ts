import type { AppConfig } from '../../config/config.schema.js';
import { loadImage } from '../segment/segment.image.js';
import { segmentDecoded, type SegmentedObject, type SegmentInstance, type SegmentResult } from '../segment/segment.service.js';
import type { PixelImage } from '../segment/builtin/builtin.engine.js';
import type { OrientationParams } from './orientation.params.js';

/**
 * The seed's `prase_pca`: the orientation of the main object, from the principal component analysis
 * of its mask's pixel coordinates. `degree` is the principal axis' angle in degrees, counter-clockwise
 * from the image's horizontal axis as the image is seen (image y points down), in (-90, 90].
 */
export interface OrientationResult {
  /** False when no object was found (or the chosen one does not exist): `degree` is then null. */
  found: boolean;
  degree: number | null;
  /** Ratio of the principal variances (≥ 1). */
  elongation: number | null;
  /** False for a round (or square) object, whose principal axis is arbitrary. */
  reliable: boolean;
  note?: string;
  centroid: [number, number] | null;
  /** The measured object, as `segment` describes it. */
  object: SegmentInstance | null;
  /** Objects found in the image. */
  count: number;
  engine: string;
  width: number;
  height: number;
}

export interface OrientationChoice {
  /** A `mask_id` to measure instead of the largest object. */
  object?: number;
  /** Measure the largest object of this class (name or id). */
  class?: string;
  /** Ratio below which the object counts as round. Default 1.2. */
  min_elongation?: number;
}

/** Picks the main object of a segmentation and reports its orientation. Pure. */
export function orientationOf(seg: SegmentResult, choice: OrientationChoice = {}): OrientationResult {
  const base = { count: seg.count, engine: seg.engine, width: seg.width, height: seg.height };
  const none = (note: string): OrientationResult => ({ found: false, degree: null, elongation: null, reliable: false, note, centroid: null, object: null, ...base });
  let pool = seg.instances;
  if (choice.class !== undefined) pool = pool.filter((i) => i.class === choice.class || String(i.class_id) === choice.class);
  let main: SegmentInstance | undefined;
  if (choice.object !== undefined) main = pool.find((i) => i.mask_id === choice.object);
  else main = pool.reduce<SegmentInstance | undefined>((best, i) => (!best || i.area > best.area ? i : best), undefined);
  if (!main) {
    if (seg.count === 0) return none('No object was found in the image.');
    return none(choice.object !== undefined ? `No object with mask_id ${choice.object}${choice.class ? ` and class ${choice.class}` : ''}.` : `No object of class ${choice.class}.`);
  }
  const minElongation = choice.min_elongation ?? 1.2;
  const reliable = main.elongation >= minElongation;
  return {
    found: true,
    degree: main.angle,
    elongation: main.elongation,
    reliable,
    ...(reliable ? {} : { note: `The object is nearly round (elongation ${main.elongation} < ${minElongation}): its principal axis, and so the degree, is not meaningful.` }),
    centroid: main.centroid,
    object: main,
    ...base,
  };
}

/** Segments a decoded image (every object, so "largest" is over all of them) and measures the main one. */
export async function orientationOfDecoded(image: PixelImage, params: Partial<OrientationParams>, config: AppConfig, signal?: AbortSignal, onProgress?: (f: number, stage: string) => void): Promise<{ result: OrientationResult; objects: SegmentedObject[] }> {
  const { result: seg, objects } = await segmentDecoded(image, { ...params, max_instances: 1000 }, config, { signal, onProgress });
  return { result: orientationOf(seg, params), objects };
}

/** Decode, segment and measure: what the seed main server's background step did. */
export async function orientationOfImage(input: string | Buffer, params: Partial<OrientationParams>, config: AppConfig, signal?: AbortSignal, onProgress?: (f: number, stage: string) => void): Promise<OrientationResult> {
  const image = await loadImage(input, config);
  return (await orientationOfDecoded(image, params, config, signal, onProgress)).result;
}
