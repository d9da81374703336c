import { defineProcessor } from '../../core/processor.types.js';
import { IMAGE_MIME_TYPES } from '../../media/image/image.formats.js';
import { OrientationParamsSchema } from './orientation.params.js';

/**
 * `orientation`: the angle of the main object in an image (the seed main server's `degree`), from
 * the PCA of its mask. Segments with the same engines as `segment`.
 */
export const orientationProcessor = defineProcessor({
  name: 'orientation',
  version: '1',
  title: 'Object orientation',
  description: 'Segments the image, takes the main object (the largest, or one chosen by mask_id or class) and returns `degree`: the angle of its principal axis, counter-clockwise from the horizontal as the image is seen, in (-90, 90]; with the elongation, and a flag when the object is too round for the angle to mean anything.',
  input: { kind: 'file', accept: IMAGE_MIME_TYPES },
  params: OrientationParamsSchema,
  policy: { concurrency: 2, timeoutMs: 300_000, attempts: 2, backoffMs: 2000, resource: 'cpu' },
  notes: 'Uses the segment processor\'s engines; see its notes on model licences.',
  async validate(input, config, params) {
    const { validateImageInput } = await import('../../media/image/image.validate.js');
    await validateImageInput(input, config);
    const { checkEngine } = await import('../segment/onnx/model.resolve.js');
    await checkEngine(params.engine, config);
  },
  async run(ctx, input, params) {
    const { runOrientation } = await import('./orientation.run.js');
    return runOrientation(ctx, input, params);
  },
});
