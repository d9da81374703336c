import { MediaflowError } from '../../../core/errors.js';
import type { PixelImage } from '../builtin/builtin.engine.js';
import { rleFromPredicate } from '../coco-rle.js';
import { resizePixels } from '../segment.image.js';
import type { ClassNames } from './class-names.js';
import { bilinear } from './mask.sample.js';
import type { DecodeOptions, Detection } from './model.types.js';
import { nonMaxSuppression, type Candidate } from './nms.js';
import { inputDims, ort, tensorNumbers } from './onnx.session.js';

/**
 * Ultralytics YOLO segmentation models (YOLOv5/v8/11-seg) exported with `yolo export format=onnx`:
 * input `images` `[1, 3, S, S]` (RGB 0..1, letterboxed with grey 114), outputs `output0`
 * `[1, 4 + nc + nm, anchors]` (box centre/size in input pixels, nc class scores, nm mask
 * coefficients) and `output1` `[1, nm, S/4, S/4]` mask prototypes. A detection's mask is
 * sigmoid(coefficients · prototypes), cropped to its box. End-to-end exports (`[1, N, 6 + nm]`
 * rows of x0, y0, x1, y1, score, class, coefficients, already suppressed) are read too.
 */
export async function runYoloSeg(session: ort.InferenceSession, image: PixelImage, classes: ClassNames, opts: DecodeOptions): Promise<Detection[]> {
  const { width: W, height: H } = image;
  const dims = inputDims(session);
  if (dims.length !== 4) throw new MediaflowError('MODEL_INVALID', `YOLO-seg input must be [1,3,H,W], the model's is [${dims.join(',')}]`);
  const S_h = dims[2] ?? 640, S_w = dims[3] ?? 640;

  // Letterbox as Ultralytics does: scale to fit, centre, pad with 114.
  const r = Math.min(S_h / H, S_w / W);
  const nw = Math.max(1, Math.round(W * r)), nh = Math.max(1, Math.round(H * r));
  const left = Math.round((S_w - nw) / 2 - 0.1), top = Math.round((S_h - nh) / 2 - 0.1);
  const resized = nw === W && nh === H ? image : await resizePixels(image, nw, nh);
  opts.signal?.throwIfAborted();
  const plane = S_w * S_h;
  const data = new Float32Array(3 * plane).fill(114 / 255);
  const ch = resized.channels;
  for (let y = 0; y < nh; y++) {
    for (let x = 0; x < nw; x++) {
      const k = (y * nw + x) * ch, o = (y + top) * S_w + x + left;
      const red = resized.data[k];
      data[o] = red / 255;
      data[plane + o] = (ch >= 3 ? resized.data[k + 1] : red) / 255;
      data[2 * plane + o] = (ch >= 3 ? resized.data[k + 2] : red) / 255;
    }
  }
  const out = await session.run({ [session.inputNames[0]]: new ort.Tensor('float32', data, [1, 3, S_h, S_w]) });
  opts.signal?.throwIfAborted();

  const tensors = session.outputNames.map((n) => out[n]);
  const protoT = tensors.find((t) => t?.dims.length === 4);
  const detT = tensors.find((t) => t?.dims.length === 3);
  if (!protoT || !detT) throw new MediaflowError('MODEL_INVALID', `YOLO-seg needs a [1,C,A] detection output and a [1,nm,h,w] prototype output; the model has ${tensors.map((t) => `[${t?.dims}]`).join(', ')}`);
  const nm = protoT.dims[1], ph = protoT.dims[2], pw = protoT.dims[3];
  const det = tensorNumbers(detT), protos = tensorNumbers(protoT);

  // Candidates in input pixels, with their mask coefficients' position.
  const endToEnd = detT.dims[2] === 6 + nm && detT.dims[1] > detT.dims[2];
  const rowLen = detT.dims[2];
  const channels = detT.dims[1], anchors = detT.dims[2];
  const nc = channels - 4 - nm;
  const coef = (c: Candidate, j: number): number => (endToEnd ? det[c.index * rowLen + 6 + j] : det[(4 + nc + j) * anchors + c.index]);
  const cands: Candidate[] = [];
  if (endToEnd) {
    for (let i = 0; i < detT.dims[1]; i++) {
      const o = i * rowLen;
      if (det[o + 4] < opts.scoreThreshold) continue;
      cands.push({ box: [det[o], det[o + 1], det[o + 2], det[o + 3]], score: det[o + 4], classId: Math.round(det[o + 5]), index: i });
    }
  } else {
    if (nc < 1) throw new MediaflowError('MODEL_INVALID', `YOLO-seg detection output has ${channels} channels, fewer than 4 + 1 class + ${nm} mask coefficients`);
    for (let a = 0; a < anchors; a++) {
      let best = -1, bestScore = -Infinity;
      for (let c = 0; c < nc; c++) {
        const s = det[(4 + c) * anchors + a];
        if (s > bestScore) { bestScore = s; best = c; }
      }
      if (bestScore < opts.scoreThreshold) continue;
      const cx = det[a], cy = det[anchors + a], bw = det[2 * anchors + a], bh = det[3 * anchors + a];
      cands.push({ box: [cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], score: bestScore, classId: best, index: a });
    }
  }
  // Ultralytics caps the boxes entering NMS (max_nms) so a noisy image cannot stall it.
  const pre = cands.sort((a, b) => b.score - a.score).slice(0, 30_000);
  const kept = endToEnd ? pre.slice(0, opts.maxInstances) : nonMaxSuppression(pre, opts.iouThreshold, opts.maxInstances);

  const dets: Detection[] = [];
  const toProtoX = pw / S_w, toProtoY = ph / S_h;
  for (const c of kept) {
    opts.signal?.throwIfAborted();
    // The box in original pixels (letterbox undone, clipped to the image).
    const bx0 = Math.max(0, (c.box[0] - left) / r), by0 = Math.max(0, (c.box[1] - top) / r);
    const bx1 = Math.min(W, (c.box[2] - left) / r), by1 = Math.min(H, (c.box[3] - top) / r);
    if (bx1 <= bx0 || by1 <= by0) continue;
    // The mask on the prototype grid, computed only over the cells the box covers (plus one).
    const gx0 = Math.max(0, Math.floor(c.box[0] * toProtoX) - 1), gy0 = Math.max(0, Math.floor(c.box[1] * toProtoY) - 1);
    const gx1 = Math.min(pw - 1, Math.ceil(c.box[2] * toProtoX) + 1), gy1 = Math.min(ph - 1, Math.ceil(c.box[3] * toProtoY) + 1);
    const gw = gx1 - gx0 + 1, gh = gy1 - gy0 + 1;
    const prob = new Float32Array(gw * gh);
    const k = Float64Array.from({ length: nm }, (_, j) => coef(c, j));
    for (let gy = 0; gy < gh; gy++) {
      for (let gx = 0; gx < gw; gx++) {
        const p = (gy + gy0) * pw + gx + gx0;
        let s = 0;
        for (let j = 0; j < nm; j++) s += k[j] * protos[j * ph * pw + p];
        prob[gy * gw + gx] = 1 / (1 + Math.exp(-s));
      }
    }
    const rle = rleFromPredicate(H, W, { x0: Math.floor(bx0), y0: Math.floor(by0), x1: Math.ceil(bx1) - 1, y1: Math.ceil(by1) - 1 }, (x, y) => {
      const cx = x + 0.5, cy = y + 0.5;
      if (cx < bx0 || cx > bx1 || cy < by0 || cy > by1) return false; // cropped to the box
      const u = (cx * r + left) * toProtoX - 0.5 - gx0, v = (cy * r + top) * toProtoY - 0.5 - gy0;
      return bilinear(prob, 0, gw, gh, u, v) > opts.maskThreshold;
    });
    dets.push({ rle, score: c.score, classId: c.classId, className: classes[c.classId] ?? null });
  }
  return dets;
}
