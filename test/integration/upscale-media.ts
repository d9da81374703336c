/**
 * Test media for the image I/O and upscale tests, generated on the fly with sharp (plus a
 * hand-built PNG header for the decompression-bomb case), and the image metrics they assert on.
 */
import { writeFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const FIXTURE_IMAGES = new URL('../fixtures/images/', import.meta.url).pathname;

export interface Raw { data: Buffer; width: number; height: number; channels: number }

export async function readRaw(input: string | Buffer, channels?: 3 | 4): Promise<Raw> {
  let s = sharp(input);
  if (channels === 3) s = s.removeAlpha();
  if (channels === 4) s = s.ensureAlpha();
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

/** PSNR in dB over all samples of two equally sized 8-bit buffers (Infinity when identical). */
export function psnr(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`size mismatch ${a.length} vs ${b.length}`);
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; se += d * d; }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

/** Mean of channel `c` over a rectangle. */
export function meanColour(img: Raw, x0: number, y0: number, w: number, h: number): number[] {
  const sums = new Array(img.channels).fill(0);
  for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) {
    for (let c = 0; c < img.channels; c++) sums[c] += img.data[(y * img.width + x) * img.channels + c];
  }
  return sums.map((s) => s / (w * h));
}

/**
 * A W×H image whose four quadrants are red, green, blue and white (top-left, top-right,
 * bottom-left, bottom-right), so orientation mistakes show as swapped colours.
 */
export async function quadrants(width: number, height: number): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  const colours = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const q = (y < height / 2 ? 0 : 2) + (x < width / 2 ? 0 : 1);
    data.set(colours[q], (y * width + x) * 3);
  }
  return sharp(data, { raw: { width, height, channels: 3 } }).png().toBuffer();
}

/**
 * A JPEG whose stored pixels are `quadrants(w, h)` rotated 90° anticlockwise, tagged EXIF
 * orientation 6 ("rotate 90° clockwise to display"): displayed upright it is `quadrants(w, h)`.
 */
export async function exifRotatedJpeg(file: string, width: number, height: number): Promise<void> {
  const upright = await quadrants(width, height);
  await sharp(upright).rotate(-90).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(file);
}

/** An RGBA PNG: a photo-like gradient, left half opaque, right half fully transparent. */
export async function halfTransparentPng(file: string, width: number, height: number): Promise<void> {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const o = (y * width + x) * 4;
    data[o] = (x * 255) / width; data[o + 1] = (y * 255) / height; data[o + 2] = 128;
    data[o + 3] = x < width / 2 ? 255 : 0;
  }
  await sharp(data, { raw: { width, height, channels: 4 } }).png().toFile(file);
}

/** A two-frame animated GIF (red, then blue), saved under whatever name is given. */
export async function animatedGif(file: string, size = 32): Promise<void> {
  const frame = (rgb: number[]) => {
    const d = Buffer.alloc(size * size * 3);
    for (let i = 0; i < size * size; i++) d.set(rgb, i * 3);
    return d;
  };
  const stacked = Buffer.concat([frame([255, 0, 0]), frame([0, 0, 255])]);
  // Written with a .png name on purpose by the callers: the format is in the bytes.
  await sharp(stacked, { raw: { width: size, height: size * 2, channels: 3, pageHeight: size } })
    .gif({ loop: 0, delay: [100, 100] })
    .toFormat('gif')
    .toFile(file);
}

/** A PNG whose header claims `width`×`height` RGB pixels, with a single tiny IDAT: a decompression bomb stand-in. */
export async function hugePngHeader(file: string, width: number, height: number): Promise<void> {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (buf: Buffer) => {
    let c = 0xffffffff;
    for (const b of buf) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, body: Buffer) => {
    const head = Buffer.alloc(4); head.writeUInt32BE(body.length);
    const tb = Buffer.concat([Buffer.from(type, 'ascii'), body]);
    const tail = Buffer.alloc(4); tail.writeUInt32BE(crc(tb));
    return Buffer.concat([head, tb, tail]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0); ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = 2; // 8-bit RGB
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + width * 3))), // one zero row; the rest would inflate from nothing
    chunk('IEND', Buffer.alloc(0)),
  ]);
  await writeFile(file, png);
}

/** A JPEG cut off halfway through its entropy-coded data. */
export async function truncatedJpeg(file: string): Promise<void> {
  const noise = Buffer.alloc(128 * 128 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const jpeg = await sharp(noise, { raw: { width: 128, height: 128, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  await writeFile(file, jpeg.subarray(0, Math.floor(jpeg.length / 2)));
}

/** A crop of a fixture photograph as RGB pixels. */
export async function photoCrop(name: string, left: number, top: number, width: number, height: number): Promise<Raw> {
  return readRaw(await sharp(FIXTURE_IMAGES + name).extract({ left, top, width, height }).removeAlpha().png().toBuffer(), 3);
}

/** Bicubic resize of raw RGB pixels (sharp), the degradation the models were trained to undo. */
export async function bicubic(img: Raw, width: number, height: number): Promise<Raw> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 3 } })
    .resize(width, height, { kernel: 'cubic', fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
