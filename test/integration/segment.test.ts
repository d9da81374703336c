import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, mkdtemp, rm, writeFile, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import sharp from 'sharp';
import { defaultConfig } from '../../src/config/load-config.js';
import { isMediaflowError } from '../../src/core/errors.js';
import { validateParams } from '../../src/core/params.js';
import { sniffMime } from '../../src/media/sniff.js';
import { orientationProcessor } from '../../src/processors/orientation/index.js';
import { orientationOfImage, type OrientationResult } from '../../src/processors/orientation/orientation.service.js';
import { segmentProcessor } from '../../src/processors/segment/index.js';
import { overlayColour } from '../../src/processors/segment/overlay.render.js';
import { segmentImage, type SegmentResult } from '../../src/processors/segment/segment.service.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import { angleDiff, drawScene, pixelIou, randomScene, mulberry32, writeScene, type SceneSpec } from '../helpers/scenes.js';
import { decodeSeedMask } from '../helpers/scenes-rle.js';
import { errorCode } from '../helpers/assertions.js';

let dir: string;
const config = defaultConfig();

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-segment-it-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Every shape found once with IoU ≥ 0.9 and (elongated ones) the angle within 1°. */
function checkAgainstTruth(spec: SceneSpec, truth: Uint8Array[], result: SegmentResult): void {
  assert.equal(result.count, spec.shapes.length);
  const masks = result.instances.map((i) => decodeSeedMask(i.mask_rle));
  const used = new Set<number>();
  spec.shapes.forEach((s, k) => {
    const ious = masks.map((m) => pixelIou(m, truth[k]));
    const best = ious.indexOf(Math.max(...ious));
    assert.ok(ious[best] >= 0.9, `shape ${k}: IoU ${ious[best]}`);
    assert.ok(!used.has(best));
    used.add(best);
    if (s.length / s.width >= 1.5) assert.ok(angleDiff(result.instances[best].angle, s.angle) <= 1, `shape ${k}: ${result.instances[best].angle} vs ${s.angle}`);
  });
}

test('segment processor: a 1-megapixel PNG, seed-shaped result, overlay output, progress', async () => {
  const spec = randomScene(mulberry32(21), { width: 1200, height: 860, count: 6, noise: 8, tilt: 0.3 });
  const scene = drawScene(spec);
  const file = path.join(dir, 'scene.png');
  await writeScene(scene, file);
  const outDir = path.join(dir, 'out-segment');
  const progress: number[] = [];
  const ctx = await createLocalContext({ config, outDir, onProgress: (f) => progress.push(f) });
  try {
    const input = await fileInputFromPath(file, await sniffMime(file));
    const params = validateParams(segmentProcessor, { overlay: true });
    const result = await segmentProcessor.run(ctx, input, params as never) as SegmentResult;
    checkAgainstTruth(spec, scene.masks, result);
    assert.deepEqual([result.width, result.height], [1200, 860]);
    for (const inst of result.instances) {
      // The seed's fields, unchanged: mask_id and mask_rle {counts: base64, size: [h, w]}.
      assert.equal(typeof inst.mask_id, 'number');
      assert.deepEqual(Object.keys(inst.mask_rle).sort(), ['counts', 'size']);
      assert.deepEqual(inst.mask_rle.size, [860, 1200]);
      assert.match(inst.mask_rle.counts, /^[A-Za-z0-9+/]+=*$/);
      const m = decodeSeedMask(inst.mask_rle);
      let area = 0;
      for (const v of m) area += v;
      assert.equal(inst.area, area);
    }
    assert.ok(progress.length >= 4 && progress.at(-1) === 1);
    for (let i = 1; i < progress.length; i++) assert.ok(progress[i] >= progress[i - 1], 'progress never goes back');

    // The overlay: same size; mask pixels tinted, the backdrop left alone, the axis drawn.
    assert.deepEqual(ctx.outputs.map((o) => [o.name, o.mime]), [['overlay.png', 'image/png']]);
    const { data, info } = await sharp(path.join(outDir, 'overlay.png')).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([info.width, info.height, info.channels], [1200, 860, 3]);
    const original = scene.rgb;
    const first = result.instances[0];
    const mask = decodeSeedMask(first.mask_rle);
    let inside = 0, changed = 0;
    for (let i = 0; i < mask.length; i++) {
      if (!mask[i]) continue;
      inside++;
      if (Math.abs(data[i * 3] - original[i * 3]) + Math.abs(data[i * 3 + 1] - original[i * 3 + 1]) + Math.abs(data[i * 3 + 2] - original[i * 3 + 2]) > 12) changed++;
    }
    assert.ok(changed / inside > 0.9, `tinted ${changed}/${inside}`);
    assert.deepEqual([...data.subarray(0, 3)], [...original.subarray(0, 3)], 'the corner is backdrop, unchanged');
    const a = (first.angle * Math.PI) / 180, half = 0.5 * Math.sqrt(first.area * first.elongation) / 2;
    const px = Math.round(first.centroid[0] + Math.cos(a) * half), py = Math.round(first.centroid[1] - Math.sin(a) * half);
    const colour = overlayColour(first.mask_id);
    const at = [...data.subarray((py * 1200 + px) * 3, (py * 1200 + px) * 3 + 3)];
    assert.ok(at.every((v, c) => Math.abs(v - colour[c]) < 60), `axis pixel ${at} vs ${colour}`);
  } finally {
    await ctx.dispose();
  }
});

test('a JPEG larger than the built-in working size: masks come back at full size', async () => {
  const spec = randomScene(mulberry32(4), { width: 2200, height: 1400, count: 5, noise: 6, vignette: 0.3 });
  const scene = drawScene(spec);
  const file = path.join(dir, 'large.jpg');
  await writeScene(scene, file, 'jpeg');
  const result = await segmentImage(file, {}, config);
  assert.ok(result.builtin!.scale < 1, 'analysed downscaled');
  assert.deepEqual(result.instances[0].mask_rle.size, [1400, 2200]);
  checkAgainstTruth(spec, scene.masks, result);
});

test('orientation processor: degree of the main object, round objects flagged', async () => {
  const spec: SceneSpec = {
    width: 900, height: 700, background: [235, 232, 225], noise: 5, tilt: 0.2, seed: 8,
    shapes: [
      { kind: 'rect', cx: 450, cy: 350, length: 520, width: 60, angle: 33, color: [170, 20, 25] },
      { kind: 'ellipse', cx: 120, cy: 600, length: 80, width: 30, angle: -70, color: [20, 20, 20] },
    ],
  };
  const file = path.join(dir, 'pen.jpg');
  await writeScene(drawScene(spec), file, 'jpeg');
  const ctx = await createLocalContext({ config, outDir: path.join(dir, 'out-orientation') });
  try {
    const params = validateParams(orientationProcessor, { overlay: true });
    const r = await orientationProcessor.run(ctx, await fileInputFromPath(file, 'image/jpeg'), params as never) as OrientationResult;
    assert.equal(r.found, true);
    assert.ok(Math.abs(r.degree! - 33) <= 1, `degree ${r.degree}`);
    assert.equal(r.reliable, true);
    assert.equal(r.count, 2);
    assert.ok(Math.abs(r.centroid![0] - 450) < 2 && Math.abs(r.centroid![1] - 350) < 2);
    assert.equal(ctx.outputs[0]?.name, 'overlay.png');
    const second = await orientationOfImage(file, { object: r.count - 1 }, config);
    assert.ok(Math.abs(second.degree! - -70) <= 1, `chosen object: ${second.degree}`);
  } finally {
    await ctx.dispose();
  }
  const discFile = path.join(dir, 'disc.png');
  await writeScene(drawScene({ width: 400, height: 300, background: [240, 240, 240], shapes: [{ kind: 'ellipse', cx: 200, cy: 150, length: 160, width: 160, angle: 0, color: [30, 60, 160] }] }), discFile);
  const round = await orientationOfImage(discFile, {}, config);
  assert.equal(round.found, true);
  assert.equal(round.reliable, false);
  assert.match(round.note!, /round/);
  const emptyFile = path.join(dir, 'empty.png');
  await writeScene(drawScene({ width: 300, height: 200, background: [128, 128, 128], shapes: [], noise: 10 }), emptyFile);
  const none = await orientationOfImage(emptyFile, {}, config);
  assert.deepEqual([none.found, none.degree, none.count], [false, null, 0]);
});

/** A valid 1-bit greyscale PNG of any size (all black): small on disk, huge when decoded. */
function hugePng(w: number, h: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(zlib.crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  const raw = Buffer.alloc(h * (1 + Math.ceil(w / 8)));
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw, { level: 1 })), chunk('IEND', Buffer.alloc(0))]);
}

test('bad input gets clear InputErrors', async () => {
  // base64 of a text file, as a client of the seed's JSON route might send
  const text = Buffer.from('this is not an image, just some text\n').toString('base64');
  assert.equal(await errorCode(segmentImage(Buffer.from(text, 'base64'), {}, config)), 'INPUT_UNSUPPORTED_TYPE');
  assert.equal(await errorCode(segmentImage(Buffer.alloc(0), {}, config)), 'INPUT_EMPTY');

  // 20000×20000: refused from the header, before any pixel is decoded
  const huge = path.join(dir, 'huge.png');
  await writeFile(huge, hugePng(20000, 20000));
  assert.ok((await stat(huge)).size < 1_000_000);
  const input = await fileInputFromPath(huge, 'image/png');
  const refused = await (async () => {
    try { await segmentProcessor.validate!(input, config, validateParams(segmentProcessor, {}) as never); } catch (err) { return err; }
    return null;
  })();
  assert.ok(isMediaflowError(refused));
  assert.equal(refused.code, 'IMAGE_TOO_LARGE');
  assert.equal(refused.status, 413);
  assert.match(refused.message, /20000×20000/);
  assert.equal(await errorCode(segmentImage(huge, {}, config)), 'IMAGE_TOO_LARGE');
  assert.equal(await errorCode(orientationOfImage(huge, {}, config)), 'IMAGE_TOO_LARGE');
  const small = defaultConfig({ limits: { maxImagePixels: 10_000 } });
  const scenePng = path.join(dir, 'noisy.png');
  await writeScene(drawScene({ width: 400, height: 300, background: [100, 100, 100], shapes: [], noise: 40 }), scenePng);
  assert.equal(await errorCode(segmentImage(scenePng, {}, small)), 'IMAGE_TOO_LARGE');

  // truncated files
  const png = await readFile(scenePng);
  const cutPng = path.join(dir, 'cut.png');
  await writeFile(cutPng, png.subarray(0, Math.floor(png.length / 2)));
  assert.equal(await errorCode(segmentImage(cutPng, {}, config)), 'INPUT_CORRUPT');
  assert.equal(await errorCode(segmentProcessor.validate!(await fileInputFromPath(cutPng, 'image/png'), config, validateParams(segmentProcessor, {}) as never)), 'INPUT_CORRUPT', 'refused at submit');
  const jpg = await sharp(png).jpeg().toBuffer();
  assert.equal(await errorCode(segmentImage(jpg.subarray(0, Math.floor(jpg.length / 2)), {}, config)), 'INPUT_CORRUPT');

  // a text file given to the processor
  const txt = path.join(dir, 'notes.txt');
  await writeFile(txt, 'hello\n');
  assert.equal(await errorCode(segmentProcessor.validate!(await fileInputFromPath(txt, 'text/plain'), config, validateParams(segmentProcessor, {}) as never)), 'INPUT_UNSUPPORTED_TYPE');
});

test('a canceled job stops', async () => {
  const file = path.join(dir, 'cancel.png');
  await writeScene(drawScene({ width: 600, height: 400, background: [200, 200, 200], shapes: [{ kind: 'rect', cx: 300, cy: 200, length: 200, width: 50, angle: 10, color: [0, 0, 0] }] }), file);
  const ac = new AbortController();
  const ctx = await createLocalContext({ config, outDir: path.join(dir, 'out-cancel'), signal: ac.signal, onProgress: (f) => { if (f > 0.1) ac.abort(new Error('canceled')); } });
  try {
    const params = validateParams(segmentProcessor, {});
    await assert.rejects(segmentProcessor.run(ctx, await fileInputFromPath(file, 'image/png'), params as never), /canceled/);
  } finally {
    await ctx.dispose();
  }
});
