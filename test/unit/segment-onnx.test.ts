import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../src/config/load-config.js';
import type { AppConfig } from '../../src/config/config.schema.js';
import { isMediaflowError } from '../../src/core/errors.js';
import { fromSeedRle, rleDecode } from '../../src/processors/segment/coco-rle.js';
import { segmentDecoded } from '../../src/processors/segment/segment.service.js';
import type { PixelImage } from '../../src/processors/segment/builtin/builtin.engine.js';
import { buildTorchvisionMaskRcnn, buildYoloSeg, buildZooMaskRcnn } from '../helpers/onnx-models.js';
import sharp from 'sharp';
import { validateParams } from '../../src/core/params.js';
import { segmentProcessor } from '../../src/processors/segment/index.js';
import { orientationProcessor } from '../../src/processors/orientation/index.js';
import { fileInputFromPath } from '../../src/worker/local-context.js';

let dir: string;
let config: AppConfig;

/** A black RGB image with filled regions. */
function image(w: number, h: number, paint: (x: number, y: number) => [number, number, number] | null): PixelImage {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const c = paint(x, y);
    if (c) data.set(c, (y * w + x) * 3);
  }
  return { data, width: w, height: h, channels: 3 };
}

/** Row-major mask of the pixels for which `f` holds. */
function maskOf(w: number, h: number, f: (x: number, y: number) => boolean): Uint8Array {
  const m = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) m[y * w + x] = f(x, y) ? 1 : 0;
  return m;
}

function decoded(inst: { mask_rle: { counts: string; size: [number, number] } }): Uint8Array {
  return rleDecode(fromSeedRle(inst.mask_rle));
}

const inRect = (x0: number, y0: number, x1: number, y1: number) => (x: number, y: number) => x >= x0 && x < x1 && y >= y0 && y < y1;

/**
 * Reference paste of an M×M box mask, written from torchvision's definition (`expand_masks` with one
 * ring of zero padding, then a bilinear resize onto the enlarged box, align_corners = false):
 * whether image pixel (x, y) is > 0.5.
 */
function pastedPixel(mask: Float32Array, m: number, box: number[], x: number, y: number): boolean {
  const s = (m + 2) / m;
  const w = (box[2] - box[0]) * s, h = (box[3] - box[1]) * s;
  const ex = (box[0] + box[2]) / 2 - w / 2, ey = (box[1] + box[3]) / 2 - h / 2;
  const gu = ((x + 0.5 - ex) / w) * (m + 2) - 0.5, gv = ((y + 0.5 - ey) / h) * (m + 2) - 0.5;
  const at = (i: number, j: number) => (i < 1 || j < 1 || i > m || j > m ? 0 : mask[(j - 1) * m + (i - 1)]);
  const u = Math.min(Math.max(gu, 0), m + 1), v = Math.min(Math.max(gv, 0), m + 1);
  const i0 = Math.floor(u), j0 = Math.floor(v), fu = u - i0, fv = v - j0;
  const val = (at(i0, j0) * (1 - fu) + at(i0 + 1, j0) * fu) * (1 - fv) + (at(i0, j0 + 1) * (1 - fu) + at(i0 + 1, j0 + 1) * fu) * fv;
  return val > 0.5;
}
const inEllipse = (cx: number, cy: number, rx: number, ry: number) => (x: number, y: number) => ((x + 0.5 - cx) / rx) ** 2 + ((y + 0.5 - cy) / ry) ** 2 <= 1;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-seg-onnx-'));
  const tv = await buildTorchvisionMaskRcnn(path.join(dir, 'tv.onnx'), [
    { box: [8, 18, 42, 52], label: 1, score: 0.9 },
    { box: [53, 28, 107, 62], label: 18, score: 0.8 },
    { box: [58, 3, 102, 17], label: 3, score: 0.3 },
  ]);
  // Zoo: boxes are in the resized frame (shorter side 800 for this 200×150 image).
  const ratio = 800 / 150;
  const full = new Float32Array(784).fill(1);
  const leftHalf = new Float32Array(784).map((_, i) => (i % 28 < 14 ? 1 : 0));
  const zoo = await buildZooMaskRcnn(path.join(dir, 'zoo.onnx'), [
    { box: [20 * ratio, 30 * ratio, 100 * ratio, 90 * ratio], label: 1, score: 0.95 },
    { box: [110 * ratio, 20 * ratio, 190 * ratio, 140 * ratio], label: 3, score: 0.85 },
    { box: [0, 0, 50 * ratio, 50 * ratio], label: 5, score: 0.1 },
  ], [full, leftHalf, full]);
  const zeros = (n: number) => new Array(n).fill(0);
  const yolo = await buildYoloSeg(path.join(dir, 'yolo.onnx'), {
    size: 64, nc: 3, protoBox: [2, 4, 10, 12],
    output0: [
      [20, 32, 24, 32, 0.9, 0.05, 0.05, 1, 0], // person, prototype 0, box crops its right part
      [21, 32, 24, 32, 0.8, 0, 0, 1, 0], // a near-duplicate of the first: suppressed
      [48, 28, 24, 24, 0.05, 0.05, 0.75, 0, 1], // car, prototype 1 = red pixels
      [20, 32, 24, 32, 0, 0.6, 0, 1, 0], // same box, other class: kept (per-class NMS)
      [8, 40, 8, 8, 0.4, 0, 0, 1, 0], // below the default score threshold
      // real exports have thousands of anchors (more than channels): pad to 16
      ...Array.from({ length: 11 }, () => zeros(9)),
    ],
  });
  const yoloE2e = await buildYoloSeg(path.join(dir, 'yolo-e2e.onnx'), {
    size: 64, nc: 3, protoBox: [2, 4, 10, 12], endToEnd: true,
    output0: [[8, 16, 32, 48, 0.9, 0, 1, 0], [36, 16, 60, 40, 0.75, 2, 0, 1], ...Array.from({ length: 8 }, () => zeros(8))],
  });
  await writeFile(path.join(dir, 'names.txt'), 'alpha\nbeta\ngamma\n');
  config = defaultConfig({
    data: dir,
    threads: 1,
    segment: {
      models: {
        tv: { path: tv, format: 'mask-rcnn' },
        zoo: { path: zoo, format: 'mask-rcnn-zoo' },
        yolo: { path: yolo, format: 'yolo-seg' },
        'yolo-named': { path: yolo, format: 'yolo-seg', classes: path.join(dir, 'names.txt') },
        'yolo-e2e': { path: yoloE2e, format: 'yolo-seg' },
        wrong: { path: tv, format: 'yolo-seg' },
        missing: { path: path.join(dir, 'nope.onnx'), format: 'mask-rcnn' },
      },
    },
  });
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

// 120×90: a red rectangle, a green ellipse, a blue bar (the torchvision-like model's masks are the channels).
const W1 = 120, H1 = 90;
const red = inRect(10, 20, 40, 50), green = inEllipse(80, 45, 25, 15), blue = inRect(60, 5, 100, 15);
const tvImage = image(W1, H1, (x, y) => (red(x, y) ? [255, 0, 0] : green(x, y) ? [0, 255, 0] : blue(x, y) ? [0, 0, 255] : null));

test('torchvision-style Mask R-CNN: boxes, scores, classes and pasted masks decode exactly', async () => {
  const { result } = await segmentDecoded(tvImage, { engine: 'tv' }, config);
  assert.equal(result.count, 2, 'the 0.3 detection is below the default 0.5');
  assert.deepEqual(result.model, { format: 'mask-rcnn' });
  const [a, b] = result.instances;
  assert.equal(a.mask_id, 0);
  assert.equal(a.score, 0.9);
  assert.equal(a.class, 'person');
  assert.equal(a.class_id, 1);
  assert.deepEqual(decoded(a), maskOf(W1, H1, red));
  assert.deepEqual(a.bbox, [10, 20, 30, 30]);
  assert.equal(a.area, 900);
  assert.deepEqual(a.mask_rle.size, [H1, W1]);
  assert.equal(b.mask_id, 1);
  assert.equal(b.score, 0.8);
  assert.equal(b.class, 'dog', 'torchvision labels are COCO category ids (18 = dog)');
  assert.deepEqual(decoded(b), maskOf(W1, H1, green));
  assert.equal(b.angle, 0, 'a wide ellipse lies along the horizontal');
});

test('model params: score threshold, class filter, max instances', async () => {
  const low = await segmentDecoded(tvImage, { engine: 'tv', score_threshold: 0.2 }, config);
  assert.equal(low.result.count, 3);
  assert.equal(low.result.instances[2].class, 'car');
  assert.deepEqual(decoded(low.result.instances[2]), maskOf(W1, H1, blue));
  const dogs = await segmentDecoded(tvImage, { engine: 'tv', classes: ['dog'] }, config);
  assert.deepEqual(dogs.result.instances.map((i) => [i.mask_id, i.class]), [[0, 'dog']]);
  const byId = await segmentDecoded(tvImage, { engine: 'tv', classes: ['1'] }, config);
  assert.deepEqual(byId.result.instances.map((i) => i.class), ['person']);
  const one = await segmentDecoded(tvImage, { engine: 'tv', max_instances: 1 }, config);
  assert.deepEqual(one.result.instances.map((i) => i.score), [0.9]);
  const bestDog = await segmentDecoded(tvImage, { engine: 'tv', max_instances: 1, classes: ['dog'] }, config);
  assert.deepEqual(bestDog.result.instances.map((i) => i.class), ['dog'], 'the class filter applies before the cap');
});

test('ONNX-zoo Mask R-CNN: boxes scaled back from the resized frame, 28×28 masks pasted into them', async () => {
  const img = image(200, 150, () => [90, 120, 150]);
  const { result } = await segmentDecoded(img, { engine: 'zoo' }, config);
  assert.equal(result.count, 2);
  const [a, b] = result.instances;
  assert.equal(a.score, 0.95);
  assert.equal(a.class, 'person');
  const full = new Float32Array(784).fill(1);
  const leftHalf = new Float32Array(784).map((_, i) => (i % 28 < 14 ? 1 : 0));
  assert.deepEqual(decoded(a), maskOf(200, 150, (x, y) => pastedPixel(full, 28, [20, 30, 100, 90], x, y)));
  // A full mask fills its box but for the corners that bilinear resizing rounds off.
  assert.deepEqual(a.bbox, [20, 30, 80, 60]);
  assert.ok(a.area > 80 * 60 - 8 && a.area < 80 * 60);
  assert.equal(b.class, 'car', 'zoo labels are 1..80 (3 = car)');
  assert.deepEqual(decoded(b), maskOf(200, 150, (x, y) => pastedPixel(leftHalf, 28, [110, 20, 190, 140], x, y)));
  assert.deepEqual(b.bbox, [110, 20, 40, 120], 'a left-half mask fills the left half of its box');
});

// 32×24 with a red rectangle; letterboxed to 64×64 (scale 2, 8 rows of padding above).
const yoloImage = image(32, 24, (x, y) => (x >= 20 && x < 28 && y >= 6 && y < 14 ? [255, 0, 0] : null));

test('YOLO-seg: NMS per class, prototypes × coefficients cropped to boxes, letterbox undone', async () => {
  const { result } = await segmentDecoded(yoloImage, { engine: 'yolo' }, config);
  assert.deepEqual(result.instances.map((i) => [i.class, i.score]), [['person', 0.9], ['car', 0.75], ['bicycle', 0.6]]);
  const [person, car, bicycle] = result.instances;
  // Prototype 0 covers input cells x 2..9, y 4..11 (original x 4..19, y 4..19); the box ends at x 16.
  assert.deepEqual(decoded(person), maskOf(32, 24, inRect(4, 4, 16, 20)));
  assert.deepEqual(person.bbox, [4, 4, 12, 16]);
  // Prototype 1 is the red channel of the letterboxed input: the red rectangle comes back in place.
  assert.deepEqual(decoded(car), maskOf(32, 24, inRect(20, 6, 28, 14)));
  assert.deepEqual(decoded(bicycle), decoded(person));
  const low = await segmentDecoded(yoloImage, { engine: 'yolo', score_threshold: 0.3 }, config);
  assert.equal(low.result.count, 4);
  const agnostic = await segmentDecoded(yoloImage, { engine: 'yolo', iou_threshold: 0.99 }, config);
  assert.equal(agnostic.result.count, 4, 'with a 0.99 IoU threshold the near-duplicate survives');
});

test('YOLO-seg: class names from a file; end-to-end exports', async () => {
  const named = await segmentDecoded(yoloImage, { engine: 'yolo-named' }, config);
  assert.deepEqual(named.result.instances.map((i) => i.class), ['alpha', 'gamma', 'beta']);
  const e2e = await segmentDecoded(yoloImage, { engine: 'yolo-e2e' }, config);
  assert.deepEqual(e2e.result.instances.map((i) => [i.class, i.score]), [['person', 0.9], ['car', 0.75]]);
  assert.deepEqual(decoded(e2e.result.instances[0]), maskOf(32, 24, inRect(4, 4, 16, 20)));
  assert.deepEqual(decoded(e2e.result.instances[1]), maskOf(32, 24, inRect(20, 6, 28, 14)));
});

test('engine errors: unknown engine, missing file, wrong format', async () => {
  const code = async (engine: string): Promise<string> => {
    try {
      await segmentDecoded(tvImage, { engine }, config);
      return 'no error';
    } catch (err) {
      assert.ok(isMediaflowError(err), String(err));
      return err.code;
    }
  };
  assert.equal(await code('nonesuch'), 'PARAMS_INVALID');
  assert.equal(await code('missing'), 'MODEL_MISSING');
  assert.equal(await code('wrong'), 'MODEL_INVALID');
  assert.equal(await code('maskrcnn-r50-fpn'), 'MODEL_MISSING', 'a catalogue model not fetched yet');
});

test('submit-time checks: the engine must resolve to a model file; readiness lists missing models', async () => {
  const file = path.join(dir, 'tv.png');
  await sharp(Buffer.from(tvImage.data), { raw: { width: W1, height: H1, channels: 3 } }).png().toFile(file);
  const input = await fileInputFromPath(file, 'image/png');
  const refused = async (engine: string): Promise<string> => {
    const params = validateParams(segmentProcessor, { engine }) as never;
    try {
      await segmentProcessor.validate!(input, config, params);
      return 'accepted';
    } catch (err) {
      return isMediaflowError(err) ? err.code : String(err);
    }
  };
  assert.equal(await refused('tv'), 'accepted');
  assert.equal(await refused('builtin'), 'accepted');
  assert.equal(await refused('nonesuch'), 'PARAMS_INVALID');
  assert.equal(await refused('missing'), 'MODEL_MISSING');
  await assert.rejects(orientationProcessor.validate!(input, config, validateParams(orientationProcessor, { engine: 'missing' }) as never), /missing/);
  const ready = await segmentProcessor.check!(config);
  assert.equal(ready.ok, false);
  assert.match(ready.detail ?? '', /"missing"/);
  assert.deepEqual(await segmentProcessor.check!(defaultConfig()), { ok: true, detail: 'built-in engine ready' });
});
