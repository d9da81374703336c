import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { AppConfig } from '../../src/config/config.schema.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { InputError } from '../../src/core/errors.js';
import { sniffMime } from '../../src/media/sniff.js';
import { getProcessor } from '../../src/processors/registry.js';
import { shutdownUpscale, upscaleProcessor, type UpscaleResult } from '../../src/processors/upscale/index.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import {
  animatedGif, bicubic, exifRotatedJpeg, halfTransparentPng, hugePngHeader, meanColour, photoCrop, psnr, readRaw, truncatedJpeg,
} from './upscale-media.js';
import { finalError } from '../helpers/assertions.js';

const config = defaultConfig({ data: os.tmpdir(), threads: 2 });
let dir: string;

before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-upscale-test-')); });
after(async () => {
  await shutdownUpscale();
  await rm(dir, { recursive: true, force: true });
});

type Params = Parameters<typeof upscaleProcessor.run>[2];
const defaults: Params = { scale: 2, tile: 256, quality: 90 };

interface Run { result: UpscaleResult; file: string; progress: number[] }

/** Runs the processor as a worker does: sniffed input, a real context writing to a folder. */
async function upscale(file: string, params: Partial<Params> = {}, opts: { config?: AppConfig; signal?: AbortSignal; onProgress?: (f: number) => void } = {}): Promise<Run> {
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const progress: number[] = [];
  const ctx = await createLocalContext({
    config: opts.config ?? config, outDir, signal: opts.signal,
    onProgress: (f) => { progress.push(f); opts.onProgress?.(f); },
  });
  try {
    const input = await fileInputFromPath(file, await sniffMime(file));
    const result = await upscaleProcessor.run(ctx, input, { ...defaults, ...params });
    assert.deepEqual(ctx.outputs.map((o) => o.name), [result.output.name]);
    return { result, file: path.join(outDir, result.output.name), progress };
  } finally {
    await ctx.dispose();
  }
}

test('registered as "upscale"', () => {
  assert.equal(getProcessor('upscale', false), upscaleProcessor);
});

test('output dimensions are exactly input × scale, for every scale (default model per scale)', async () => {
  const crop = await photoCrop('coffee.png', 300, 120, 37, 23);
  const src = path.join(dir, 'odd.png');
  await sharp(crop.data, { raw: { width: 37, height: 23, channels: 3 } }).png().toFile(src);
  for (const scale of [2, 3, 4, 8] as const) {
    const { result, file, progress } = await upscale(src, { scale, tile: 16 });
    const meta = await sharp(file).metadata();
    assert.deepEqual([meta.width, meta.height], [37 * scale, 23 * scale], `×${scale}`);
    assert.equal(meta.format, 'png');
    assert.deepEqual(result.input, { width: 37, height: 23, format: 'png', frames: 1 });
    assert.deepEqual({ ...result.output, size: 0 }, { name: 'image.png', width: 37 * scale, height: 23 * scale, format: 'png', size: 0 });
    assert.equal(result.scale, scale);
    assert.equal(result.model, scale <= 3 ? 'slim' : scale === 4 ? 'medium' : 'thick');
    assert.ok(result.tiles >= 6, `tiles ${result.tiles}`);
    assert.ok(result.timeMs > 0);
    assert.equal(progress.at(-1), 1);
    assert.ok(progress.every((p, i) => i === 0 || p >= progress[i - 1]), 'progress never goes back');
  }
});

test('the model beats bicubic: a photo downscaled by 4 and upscaled back', async () => {
  const hr = await photoCrop('astronaut.png', 128, 64, 192, 192);
  const lr = await bicubic(hr, 48, 48);
  const src = path.join(dir, 'lr.png');
  await sharp(lr.data, { raw: { width: 48, height: 48, channels: 3 } }).png().toFile(src);
  const floor = psnr((await bicubic(lr, 192, 192)).data, hr.data);
  for (const model of ['slim', 'medium'] as const) {
    const { file } = await upscale(src, { scale: 4, model });
    const sr = await readRaw(file, 3);
    const gain = psnr(sr.data, hr.data) - floor;
    // Measured: slim +0.56 dB, medium +0.74 dB over bicubic (23.80 dB) on this crop.
    assert.ok(gain > 0.3, `${model}: PSNR gain over bicubic ${gain.toFixed(2)} dB`);
  }
});

test('a PNG with alpha keeps its alpha', async () => {
  const src = path.join(dir, 'alpha.png');
  await halfTransparentPng(src, 40, 24);
  const { file, result } = await upscale(src, { scale: 2 });
  assert.equal(result.output.format, 'png');
  const out = await readRaw(file);
  assert.deepEqual([out.width, out.height, out.channels], [80, 48, 4]);
  const opaque = meanColour(out, 4, 4, 28, 40)[3];
  const clear = meanColour(out, 48, 4, 28, 40)[3];
  assert.equal(opaque, 255);
  assert.equal(clear, 0);
  // The colour under the opaque half is the gradient, upscaled (red rises left to right).
  assert.ok(meanColour(out, 30, 20, 8, 8)[0] > meanColour(out, 2, 20, 8, 8)[0] + 50);
});

test('an EXIF-rotated JPEG comes out upright, as JPEG by default', async () => {
  const src = path.join(dir, 'rotated.jpg');
  await exifRotatedJpeg(src, 48, 32);
  const { file, result } = await upscale(src, { scale: 2 });
  assert.equal(result.output.name, 'image.jpg');
  assert.deepEqual(result.input, { width: 48, height: 32, format: 'jpeg', frames: 1 });
  const meta = await sharp(file).metadata();
  assert.equal(meta.format, 'jpeg');
  assert.equal(meta.orientation, undefined);
  const out = await readRaw(file, 3);
  assert.deepEqual([out.width, out.height], [96, 64]);
  const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]) < 40);
  assert.ok(near(meanColour(out, 8, 8, 32, 16), [255, 0, 0]), 'red top-left');
  assert.ok(near(meanColour(out, 56, 8, 32, 16), [0, 255, 0]), 'green top-right');
  assert.ok(near(meanColour(out, 8, 40, 32, 16), [0, 0, 255]), 'blue bottom-left');
  assert.ok(near(meanColour(out, 56, 40, 32, 16), [255, 255, 255]), 'white bottom-right');
});

test('format and quality params choose the encoder', async () => {
  const src = path.join(dir, 'fmt.png');
  await halfTransparentPng(src, 24, 24);
  const webp = await upscale(src, { format: 'webp', quality: 80 });
  assert.equal(webp.result.output.name, 'image.webp');
  assert.equal((await sharp(webp.file).metadata()).hasAlpha, true);
  const jpeg = await upscale(src, { format: 'jpeg' });
  assert.equal(jpeg.result.output.name, 'image.jpg');
  const flat = await readRaw(jpeg.file, 3);
  assert.ok(meanColour(flat, 30, 4, 16, 40).every((v) => v > 240), 'transparency flattened onto white');
});

test('an animated GIF named .png: its first frame is upscaled', async () => {
  const src = path.join(dir, 'anim.png');
  await animatedGif(src, 16);
  const { file, result } = await upscale(src, { scale: 2 });
  assert.deepEqual(result.input, { width: 16, height: 16, format: 'gif', frames: 2 });
  assert.equal(result.output.name, 'image.png');
  const out = await readRaw(file, 3);
  const [r, g, b] = meanColour(out, 4, 4, 24, 24);
  assert.ok(r > 240 && g < 15 && b < 15, `first frame is red: ${[r, g, b]}`);
});

test('bad inputs fail with clear, non-retryable codes', async () => {
  const trunc = path.join(dir, 'trunc.jpg');
  await truncatedJpeg(trunc);
  await assert.rejects(upscale(trunc), finalError('INPUT_CORRUPT'));

  const bomb = path.join(dir, 'bomb.png');
  await hugePngHeader(bomb, 30000, 30000);
  await assert.rejects(upscale(bomb), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.code, 'IMAGE_TOO_LARGE');
    assert.match(err.message, /30000×30000/);
    return true;
  });

  const empty = path.join(dir, 'empty.png');
  await writeFile(empty, Buffer.alloc(0));
  await assert.rejects(upscale(empty), finalError('INPUT_EMPTY'));

  // Output limits are checked from the header too.
  const wide = path.join(dir, 'wide.png');
  await sharp({ create: { width: 3000, height: 4, channels: 3, background: '#808080' } }).png().toFile(wide);
  await assert.rejects(upscale(wide, { scale: 8, format: 'webp' }), finalError('PARAMS_INVALID'));
  const small = defaultConfig({ data: os.tmpdir(), limits: { maxOutputPixels: 10_000 } });
  await assert.rejects(upscale(wide, { scale: 2 }, { config: small }), finalError('IMAGE_TOO_LARGE'));
});

test('cancellation stops the job between tiles', async () => {
  const crop = await photoCrop('chelsea.png', 0, 0, 256, 256);
  const src = path.join(dir, 'cancel.png');
  await sharp(crop.data, { raw: { width: 256, height: 256, channels: 3 } }).png().toFile(src);
  const controller = new AbortController();
  let last = 0;
  await assert.rejects(
    upscale(src, { scale: 2, tile: 16 }, {
      signal: controller.signal,
      onProgress: (f) => { last = f; if (f > 0.1) controller.abort(new DOMException('canceled', 'AbortError')); },
    }),
    (err: unknown) => (err as Error).name === 'AbortError',
  );
  assert.ok(last < 0.5, `stopped at ${last}`);
  // The next job starts a fresh engine and succeeds.
  const { result } = await upscale(src, { scale: 2, tile: 128 });
  assert.equal(result.output.width, 512);
});

test('validate (at submit) refuses from the header what the job would refuse', async () => {
  const validate = (file: string, params: Partial<Params> = {}, cfg = config) =>
    fileInputFromPath(file, 'image/png').then((input) => upscaleProcessor.validate!(input, cfg, { ...defaults, ...params }));
  const bomb = path.join(dir, 'bomb-v.png');
  await hugePngHeader(bomb, 30000, 30000);
  await assert.rejects(validate(bomb), finalError('IMAGE_TOO_LARGE'));
  const wide = path.join(dir, 'wide-v.png');
  await sharp({ create: { width: 3000, height: 4, channels: 3, background: '#808080' } }).png().toFile(wide);
  await assert.rejects(validate(wide, { scale: 8, format: 'webp' }), finalError('PARAMS_INVALID'));
  await assert.rejects(validate(wide, { scale: 2 }, defaultConfig({ data: os.tmpdir(), limits: { maxOutputPixels: 10_000 } })), finalError('IMAGE_TOO_LARGE'));
  await validate(wide, { scale: 8 }); // PNG can hold 24000 pixels across
});
