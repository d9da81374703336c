import { MediaflowError } from '../../../core/errors.js';
import type { PixelImage } from '../builtin/builtin.engine.js';
import { rleFromPredicate } from '../coco-rle.js';
import { resizePixels } from '../segment.image.js';
import type { ClassNames } from './class-names.js';
import { bilinear, boxMaskSampler } from './mask.sample.js';
import type { DecodeOptions, Detection } from './model.types.js';
import { inputDims, ort, tensorNumbers } from './onnx.session.js';

/**
 * Mask R-CNN exported to ONNX, in the two layouts found in the wild:
 *
 * - `mask-rcnn` — torchvision's `maskrcnn_resnet50_fpn(_v2)` exported with `torch.onnx.export`: one
 *   input, the image as float RGB in 0..1, `[3, H, W]` (or `[1, 3, H, W]`), any size (the graph
 *   normalises and resizes internally); outputs boxes `[N, 4]` (x0, y0, x1, y1 in input pixels),
 *   labels `[N]` (COCO category ids), scores `[N]`, masks `[N, 1, H, W]` already pasted into the image.
 * - `mask-rcnn-zoo` — the ONNX model zoo's MaskRCNN-10/12 (maskrcnn-benchmark): input `[3, H, W]`
 *   BGR in 0..255 minus the mean [102.9801, 115.9465, 122.7717], shorter side resized to 800 and
 *   zero-padded to multiples of 32; outputs boxes in the resized frame, labels (1..80), scores and
 *   28×28 masks per box, to be pasted.
 *
 * Either kind of mask output is accepted with either input layout: masks as large as the input are
 * sampled, small square ones are pasted into their boxes.
 */
export async function runMaskRcnn(session: ort.InferenceSession, image: PixelImage, zoo: boolean, classes: ClassNames, opts: DecodeOptions): Promise<Detection[]> {
  const { width: W, height: H } = image;
  const dims = inputDims(session);
  if (dims.length !== 3 && dims.length !== 4) throw new MediaflowError('MODEL_INVALID', `Mask R-CNN input must be [3,H,W] or [1,3,H,W], the model's is [${dims.join(',')}]`);
  const fixedH = dims[dims.length - 2], fixedW = dims[dims.length - 1];

  // Input size: fixed by the model, or chosen here.
  let ratio: number;
  if (zoo) {
    // The model card's shorter side of 800; capped to 1280×960 because the exported graph is
    // reported to clip boxes at x ≤ 1279, y ≤ 959 (constants traced into MaskRCNN-12).
    ratio = Math.min(800 / Math.min(W, H), 1280 / W, 960 / H);
  } else {
    // torchvision resizes inside the graph to at most 1333 px: feeding more only costs memory.
    ratio = Math.min(1, 1333 / Math.max(W, H));
  }
  let rw = Math.max(1, Math.round(W * ratio)), rh = Math.max(1, Math.round(H * ratio));
  if (fixedW && fixedH) { rw = fixedW; rh = fixedH; }
  const sx = rw / W, sy = rh / H;
  const resized = rw === W && rh === H ? image : await resizePixels(image, rw, rh);
  opts.signal?.throwIfAborted();

  const tw = fixedW ?? (zoo ? Math.ceil(rw / 32) * 32 : rw);
  const th = fixedH ?? (zoo ? Math.ceil(rh / 32) * 32 : rh);
  const data = new Float32Array(3 * tw * th); // zero padding right and bottom
  const plane = tw * th, ch = resized.channels;
  const MEAN_BGR = [102.9801, 115.9465, 122.7717];
  for (let y = 0; y < rh; y++) {
    for (let x = 0; x < rw; x++) {
      const k = (y * rw + x) * ch, o = y * tw + x;
      const r = resized.data[k], g = ch >= 3 ? resized.data[k + 1] : r, b = ch >= 3 ? resized.data[k + 2] : r;
      if (zoo) {
        data[o] = b - MEAN_BGR[0]; data[plane + o] = g - MEAN_BGR[1]; data[2 * plane + o] = r - MEAN_BGR[2];
      } else {
        data[o] = r / 255; data[plane + o] = g / 255; data[2 * plane + o] = b / 255;
      }
    }
  }
  const shape = dims.length === 4 ? [1, 3, th, tw] : [3, th, tw];
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, shape) };
  const out = await session.run(feeds);
  opts.signal?.throwIfAborted();

  const pick = (name: string, index: number): ort.Tensor => {
    const t = out[name] ?? out[session.outputNames[index]];
    if (!t) throw new MediaflowError('MODEL_INVALID', `Mask R-CNN output ${index} (${name}) is missing`);
    return t;
  };
  const boxesT = pick('boxes', 0), labelsT = pick('labels', 1), scoresT = pick('scores', 2), masksT = pick('masks', 3);
  const n = scoresT.dims[0] ?? 0;
  if (boxesT.dims.length !== 2 || boxesT.dims[1] !== 4 || boxesT.dims[0] !== n || labelsT.dims[0] !== n || masksT.dims.length !== 4 || masksT.dims[0] !== n || masksT.dims[1] !== 1) {
    throw new MediaflowError('MODEL_INVALID', `unexpected Mask R-CNN outputs: boxes [${boxesT.dims}], labels [${labelsT.dims}], scores [${scoresT.dims}], masks [${masksT.dims}]`);
  }
  const boxes = tensorNumbers(boxesT), labels = tensorNumbers(labelsT), scores = tensorNumbers(scoresT), masks = tensorNumbers(masksT);
  const mh = masksT.dims[2], mw = masksT.dims[3];
  // Small square masks (28×28 in Mask R-CNN) belong to their boxes; others cover the whole input.
  const pasted = !(mh === mw && mh <= 64 && (mh !== th || mw !== tw));
  const gx = (sx * mw) / tw, gy = (sy * mh) / th; // original pixel → mask grid

  const order = Array.from({ length: n }, (_, i) => i).filter((i) => scores[i] >= opts.scoreThreshold).sort((a, b) => scores[b] - scores[a]);
  const dets: Detection[] = [];
  for (const i of order.slice(0, opts.maxInstances)) {
    opts.signal?.throwIfAborted();
    // Box in original image pixels.
    const box: [number, number, number, number] = [boxes[i * 4] / sx, boxes[i * 4 + 1] / sy, boxes[i * 4 + 2] / sx, boxes[i * 4 + 3] / sy];
    const offset = i * mh * mw;
    let rle;
    if (pasted) {
      // Full-input masks: sample at each original pixel, within the box enlarged a little (the
      // paste puts nothing far outside the box, and scanning whole images per object is costly).
      const mx = (box[2] - box[0]) * 0.1 + 2, my = (box[3] - box[1]) * 0.1 + 2;
      const bounds = { x0: Math.floor(box[0] - mx), y0: Math.floor(box[1] - my), x1: Math.ceil(box[2] + mx), y1: Math.ceil(box[3] + my) };
      rle = rleFromPredicate(H, W, bounds, (x, y) => bilinear(masks, offset, mw, mh, (x + 0.5) * gx - 0.5, (y + 0.5) * gy - 0.5) > opts.maskThreshold);
    } else {
      const { sample, bounds } = boxMaskSampler(masks, offset, mh, box);
      rle = rleFromPredicate(H, W, { x0: bounds[0], y0: bounds[1], x1: bounds[2], y1: bounds[3] }, (x, y) => sample(x, y) > opts.maskThreshold);
    }
    const classId = Math.round(labels[i]);
    dets.push({ rle, score: scores[i], classId, className: classes[classId] ?? null });
  }
  return dets;
}
