import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { InputError } from '../../src/core/errors.js';
import { decodeImage, encodeImage, probeImage } from '../../src/media/image/index.js';
import {
  animatedGif, exifRotatedJpeg, halfTransparentPng, hugePngHeader, meanColour, quadrants, readRaw, truncatedJpeg,
} from '../integration/upscale-media.js';
import { inputError } from '../helpers/assertions.js';

const limits = { maxPixels: 100_000_000 };
let dir: string;

before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-image-io-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('probe reads the header: size after EXIF orientation, format, frames', async () => {
  const file = path.join(dir, 'rotated.jpg');
  await exifRotatedJpeg(file, 60, 40);
  const p = await probeImage(file, limits);
  assert.equal(p.format, 'jpeg');
  assert.equal(p.mime, 'image/jpeg');
  assert.equal(p.orientation, 6);
  assert.deepEqual([p.width, p.height], [60, 40]);
  assert.equal(p.frames, 1);
});

test('an EXIF-rotated JPEG decodes upright', async () => {
  const file = path.join(dir, 'rotated2.jpg');
  await exifRotatedJpeg(file, 60, 40);
  const img = await decodeImage(file, limits);
  assert.deepEqual([img.width, img.height, img.channels], [60, 40, 3]);
  const r = { data: img.data, width: img.width, height: img.height, channels: 3 };
  const near = (got: number[], want: number[]) => got.every((v, i) => Math.abs(v - want[i]) < 40);
  // Quadrants: red top-left, green top-right, blue bottom-left, white bottom-right.
  assert.ok(near(meanColour(r, 5, 5, 20, 10), [255, 0, 0]), `top-left ${meanColour(r, 5, 5, 20, 10)}`);
  assert.ok(near(meanColour(r, 35, 5, 20, 10), [0, 255, 0]), `top-right ${meanColour(r, 35, 5, 20, 10)}`);
  assert.ok(near(meanColour(r, 5, 25, 20, 10), [0, 0, 255]), `bottom-left ${meanColour(r, 5, 25, 20, 10)}`);
  assert.ok(near(meanColour(r, 35, 25, 20, 10), [255, 255, 255]), `bottom-right ${meanColour(r, 35, 25, 20, 10)}`);
});

test('alpha is kept, removed or flattened on request', async () => {
  const file = path.join(dir, 'alpha.png');
  await halfTransparentPng(file, 40, 20);
  const keep = await decodeImage(file, limits);
  assert.equal(keep.channels, 4);
  assert.equal(keep.data[(10 * 40 + 5) * 4 + 3], 255);
  assert.equal(keep.data[(10 * 40 + 35) * 4 + 3], 0);
  const removed = await decodeImage(file, { ...limits, alpha: 'remove' });
  assert.equal(removed.channels, 3);
  const flat = await decodeImage(file, { ...limits, alpha: 'flatten' });
  assert.equal(flat.channels, 3);
  assert.deepEqual([...flat.data.subarray((10 * 40 + 35) * 3, (10 * 40 + 35) * 3 + 3)], [255, 255, 255]);
});

test('16-bit and greyscale inputs decode to 8-bit sRGB', async () => {
  const grey = path.join(dir, 'grey.png');
  const ramp = Buffer.from(Array.from({ length: 64 * 8 }, (_, i) => (i % 64) * 4));
  await sharp(ramp, { raw: { width: 64, height: 8, channels: 1 } }).toColourspace('b-w').png().toFile(grey);
  const g = await decodeImage(grey, limits);
  assert.equal(g.probe.channels, 1);
  assert.equal(g.channels, 3);
  assert.deepEqual([...g.data.subarray(10 * 3, 10 * 3 + 3)], [40, 40, 40]);

  const deep = path.join(dir, 'deep.png');
  const rgb = Buffer.alloc(16 * 16 * 3);
  for (let i = 0; i < rgb.length; i += 3) { rgb[i] = 200; rgb[i + 1] = 100; rgb[i + 2] = 50; }
  await sharp(rgb, { raw: { width: 16, height: 16, channels: 3 } }).toColourspace('rgb16').png().toFile(deep);
  const d = await decodeImage(deep, limits);
  assert.equal(d.probe.bitDepth, 16);
  assert.equal(d.channels, 3);
  assert.deepEqual([...d.data.subarray(0, 3)], [200, 100, 50]);
});

test('an embedded colour profile is converted to sRGB', async () => {
  // Pure sRGB red saved as Display P3 (pixel values change, the colour does not).
  const file = path.join(dir, 'p3.png');
  const red = Buffer.alloc(8 * 8 * 3);
  for (let i = 0; i < red.length; i += 3) red[i] = 255;
  await sharp(red, { raw: { width: 8, height: 8, channels: 3 } }).withIccProfile('p3').png().toFile(file);
  const stored = await sharp(file, { ignoreIcc: true }).raw().toBuffer();
  assert.ok(stored[0] < 245 && stored[1] > 20, `stored P3 values ${[...stored.subarray(0, 3)]}`);
  const img = await decodeImage(file, limits);
  assert.equal(img.probe.hasProfile, true);
  const [r, g, b] = img.data;
  assert.ok(r >= 250 && g <= 8 && b <= 8, `decoded ${[r, g, b]}`);
});

test('an animated GIF named .png decodes its first frame', async () => {
  const file = path.join(dir, 'anim.png');
  await animatedGif(file);
  const img = await decodeImage(file, limits);
  assert.equal(img.probe.format, 'gif');
  assert.equal(img.probe.frames, 2);
  assert.deepEqual([img.width, img.height], [32, 32]);
  assert.deepEqual([...img.data.subarray(0, 3)], [255, 0, 0]);
});

test('bad inputs give clear InputErrors', async () => {
  const trunc = path.join(dir, 'trunc.jpg');
  await truncatedJpeg(trunc);
  await assert.rejects(decodeImage(trunc, limits), inputError('INPUT_CORRUPT'));

  const empty = path.join(dir, 'empty.png');
  await writeFile(empty, Buffer.alloc(0));
  await assert.rejects(probeImage(empty, limits), inputError('INPUT_EMPTY'));

  const text = path.join(dir, 'notes.png');
  await writeFile(text, 'not an image at all\n');
  await assert.rejects(decodeImage(text, limits), inputError('INPUT_UNSUPPORTED_TYPE'));

  const svg = path.join(dir, 'drawing.png');
  await writeFile(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>');
  await assert.rejects(decodeImage(svg, limits), inputError('INPUT_UNSUPPORTED_TYPE'));
});

test('a 30000×30000 PNG header is refused before decoding', async () => {
  const bomb = path.join(dir, 'bomb.png');
  await hugePngHeader(bomb, 30000, 30000);
  const before = process.memoryUsage().rss;
  await assert.rejects(decodeImage(bomb, limits), (err: unknown) => {
    assert.ok(err instanceof InputError);
    assert.equal(err.code, 'IMAGE_TOO_LARGE');
    assert.deepEqual(err.details, { width: 30000, height: 30000, pixels: 900_000_000, limit: 100_000_000 });
    return true;
  });
  // Decoding would have needed 2.7 GB for the pixels alone.
  assert.ok(process.memoryUsage().rss - before < 200 * 1024 * 1024);
  // The same file within a (raised) limit is a valid header over missing data: corrupt, not huge.
  await assert.rejects(decodeImage(bomb, { maxPixels: 1e9 }), inputError('INPUT_CORRUPT'));
});

test('encode: PNG is lossless, WebP keeps alpha, JPEG flattens it onto white', async () => {
  const rgba = { data: Buffer.alloc(16 * 16 * 4), width: 16, height: 16, channels: 4 as const };
  for (let i = 0; i < 256; i++) rgba.data.set([i, 255 - i, 7, i < 128 ? 255 : 0], i * 4);
  const png = await readRaw(await encodeImage(rgba, { format: 'png' }), 4);
  assert.deepEqual(png.data, rgba.data);
  const webp = await sharp(await encodeImage(rgba, { format: 'webp', quality: 90 })).metadata();
  assert.equal(webp.format, 'webp');
  assert.equal(webp.hasAlpha, true);
  const jpeg = await readRaw(await encodeImage(rgba, { format: 'jpeg' }));
  assert.equal(jpeg.channels, 3);
  const transparentPixel = meanColour(jpeg, 0, 12, 16, 4);
  assert.ok(transparentPixel.every((v) => v > 240), `flattened ${transparentPixel}`);
  const grey = await sharp(await encodeImage({ data: await quadrants(8, 8).then((b) => readRaw(b, 3)).then((r) => r.data), width: 8, height: 8, channels: 3 }, { format: 'png', greyscale: true })).metadata();
  assert.equal(grey.channels, 1);
});
