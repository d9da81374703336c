import { InputError } from '../../core/errors.js';
import type { JobInput, ProcessorContext } from '../../core/processor.types.js';
import { loadImage } from '../segment/segment.image.js';
import { renderOverlay } from '../segment/overlay.render.js';
import type { OrientationParams } from './orientation.params.js';
import { orientationOfDecoded, type OrientationResult } from './orientation.service.js';

/** The `orientation` processor's work (loaded on demand by its definition in index.ts). */
export async function runOrientation(ctx: ProcessorContext, input: JobInput, params: OrientationParams): Promise<OrientationResult> {
  if (input.kind !== 'file') throw new InputError('INPUT_MISSING', 'orientation needs an uploaded image');
  ctx.progress(0, 'decoding');
  const image = await loadImage(input.path, ctx.config);
  ctx.signal.throwIfAborted();
  const { result, objects } = await orientationOfDecoded(image, params, ctx.config, ctx.signal, (f, stage) => ctx.progress(0.05 + f * 0.85, stage));
  ctx.log(result.found ? `degree ${result.degree} (elongation ${result.elongation})` : (result.note ?? 'no object'));
  if (params.overlay && result.object) {
    ctx.progress(0.92, 'overlay');
    const main = objects.find((o) => o.instance.mask_id === result.object!.mask_id)!;
    const png = await renderOverlay(image, [{ id: main.instance.mask_id, rle: main.rle, moments: main.moments, label: `${result.degree}°`, axis: result.reliable }]);
    await ctx.output('overlay.png', png, 'image/png');
  }
  ctx.progress(1, 'done');
  return result;
}
