import type { AppConfig } from '../../../config/config.schema.js';
import type { PixelImage } from '../builtin/builtin.engine.js';
import { defaultClassNames, loadClassNames } from './class-names.js';
import { runMaskRcnn } from './mask-rcnn.engine.js';
import { resolveEngine } from './model.resolve.js';
import type { DecodeOptions, Detection } from './model.types.js';
import { getSession } from './onnx.session.js';
import { runYoloSeg } from './yolo-seg.engine.js';

/** Runs the ONNX model an `engine` param names on a decoded image. */
export async function runModelEngine(engine: string, image: PixelImage, config: AppConfig, opts: DecodeOptions): Promise<{ detections: Detection[]; model: string; format: string }> {
  const spec = await resolveEngine(engine, config);
  const session = await getSession(spec.path, config.threads);
  const classes = spec.classesFile ? await loadClassNames(spec.classesFile) : defaultClassNames(spec.format);
  opts.signal?.throwIfAborted();
  const detections = spec.format === 'yolo-seg'
    ? await runYoloSeg(session, image, classes, opts)
    : await runMaskRcnn(session, image, spec.format === 'mask-rcnn-zoo', classes, opts);
  return { detections, model: spec.name, format: spec.format };
}
