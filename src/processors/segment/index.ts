import { defineProcessor } from '../../core/processor.types.js';
import { IMAGE_MIME_TYPES } from '../../media/image/image.formats.js';
import { SegmentParamsSchema } from './segment.params.js';

/**
 * `segment`: instance segmentation of an image into masks (COCO RLE, as the seed's mask server
 * returned them), with score, class, box, area and principal-axis angle per object. Light on
 * purpose: decoding, the engines and onnxruntime load inside `run`.
 */
export const segmentProcessor = defineProcessor({
  name: 'segment',
  version: '1',
  title: 'Instance segmentation',
  description: 'Finds the objects in an image and returns one mask per object (COCO RLE in base64, the seed mask server\'s `mask_rle`), with score, class, bounding box, area, centroid and principal-axis angle. The built-in engine needs no weights and suits objects on a contrasting background; ONNX Mask R-CNN and YOLO-seg models can be configured for natural scenes.',
  input: { kind: 'file', accept: IMAGE_MIME_TYPES },
  params: SegmentParamsSchema,
  policy: { concurrency: 2, timeoutMs: 300_000, attempts: 2, backoffMs: 2000, resource: 'cpu' },
  notes: 'The built-in engine uses no trained weights. Model engines run ONNX files the operator supplies (`mediaflow models fetch`), under their own licences: the ONNX model zoo Mask R-CNN is MIT; Ultralytics YOLO models are AGPL-3.0 unless licensed otherwise.',
  async check(config) {
    const { checkEngine } = await import('./onnx/model.resolve.js');
    const problems: string[] = [];
    for (const name of Object.keys(config.segment.models)) {
      await checkEngine(name, config).catch((err: Error) => problems.push(err.message));
    }
    return problems.length ? { ok: false, detail: problems.join('; ') } : { ok: true, detail: 'built-in engine ready' };
  },
  async validate(input, config, params) {
    const { validateImageInput } = await import('../../media/image/image.validate.js');
    await validateImageInput(input, config);
    const { checkEngine } = await import('./onnx/model.resolve.js');
    await checkEngine(params.engine, config);
  },
  async run(ctx, input, params) {
    const { runSegment } = await import('./segment.run.js');
    return runSegment(ctx, input, params);
  },
});
