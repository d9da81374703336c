import sharp from 'sharp';
import { InputError } from '../../core/errors.js';
import type { JobInput, ProcessorContext } from '../../core/processor.types.js';
import { loadImage } from './segment.image.js';
import { renderOverlay } from './overlay.render.js';
import type { SegmentParams } from './segment.params.js';
import { segmentDecoded, type SegmentResult } from './segment.service.js';

/** Minimum elongation for which the overlay draws an object's axis (below it the axis is arbitrary). */
const AXIS_MIN_ELONGATION = 1.2;

/** The `segment` processor's work (loaded on demand by its definition in index.ts). */
export async function runSegment(ctx: ProcessorContext, input: JobInput, params: SegmentParams): Promise<SegmentResult> {
  if (input.kind !== 'file') throw new InputError('INPUT_MISSING', 'segment needs an uploaded image');
  ctx.progress(0, 'decoding');
  const image = await loadImage(input.path, ctx.config);
  ctx.signal.throwIfAborted();
  const { result, objects } = await segmentDecoded(image, params, ctx.config, {
    signal: ctx.signal,
    onProgress: (f, stage) => ctx.progress(0.05 + f * 0.85, stage),
  });
  ctx.log(`${result.count} object(s) with engine ${result.engine}`);
  if (params.overlay) {
    ctx.progress(0.92, 'overlay');
    const png = await renderOverlay(image, objects.map((o) => ({
      id: o.instance.mask_id,
      rle: o.rle,
      moments: o.moments,
      label: o.instance.class ?? undefined,
      axis: o.moments.elongation >= AXIS_MIN_ELONGATION,
    })));
    await ctx.output('overlay.png', png, 'image/png');
  }
  if (params.crop && result.instances.length) {
    const largest = result.instances.reduce((a, b) => (b.area > a.area ? b : a));
    const [left, top, width, height] = largest.bbox;
    const png = await sharp(input.path).rotate().extract({ left, top, width: Math.max(1, width), height: Math.max(1, height) }).png().toBuffer();
    await ctx.output('crop.png', png, 'image/png');
  }
  ctx.progress(1, 'done');
  return result;
}
