import sharp, { type Metadata } from 'sharp';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError, MediaflowError } from '../../jobs/errors.js';
import type { PixelImage } from './builtin/builtin.engine.js';

/**
 * Image decoding for segmentation, with sharp. The pixel limit is checked on the header before any
 * pixel is decoded, and sharp's own limit stays on as a second guard. (When the shared image module
 * under src/media/image/ lands, this file should delegate to it.)
 */

/** Formats sharp decodes that a photo or scan can come in. SVG is left out: it is a program, not pixels. */
const FORMATS = new Set(['jpeg', 'png', 'webp', 'gif', 'tiff', 'heif', 'avif']);

export interface ImageHeader {
  format: string;
  /** As displayed, after the EXIF orientation. */
  width: number;
  height: number;
}

/** Reads the header only; throws IMAGE_TOO_LARGE, INPUT_UNSUPPORTED_TYPE, INPUT_EMPTY or INPUT_CORRUPT. */
export async function readImageHeader(input: string | Buffer, config: AppConfig): Promise<ImageHeader> {
  if (Buffer.isBuffer(input) && input.length === 0) throw new InputError('INPUT_EMPTY', 'The image is empty');
  let meta: Metadata;
  try {
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw mapSharpError(err);
  }
  if (!FORMATS.has(meta.format)) {
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `Images in ${meta.format} format are not supported (use PNG, JPEG, WebP, GIF, TIFF, AVIF or HEIF)`);
  }
  const limit = config.limits.maxImagePixels;
  if (meta.width * meta.height > limit) {
    throw new InputError('IMAGE_TOO_LARGE', `The image is ${meta.width}×${meta.height} (${(meta.width * meta.height).toLocaleString('en')} pixels); the limit is ${limit.toLocaleString('en')} pixels`, {
      details: { width: meta.width, height: meta.height, limit },
    });
  }
  const oriented = meta.autoOrient ?? { width: meta.width, height: meta.height };
  return { format: meta.format, width: oriented.width, height: oriented.height };
}

/**
 * Decodes to 8-bit sRGB (RGBA when the image has transparency), oriented as displayed.
 * The header is checked first (see readImageHeader).
 */
export async function decodeImage(input: string | Buffer, config: AppConfig): Promise<PixelImage> {
  await readImageHeader(input, config);
  try {
    const { data, info } = await sharp(input, { limitInputPixels: config.limits.maxImagePixels, failOn: 'error', autoOrient: true })
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
    return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
  } catch (err) {
    throw mapSharpError(err);
  }
}

/** Resizes a decoded image (for a working copy or a model input); `kernel` as in sharp. */
export async function resizePixels(img: PixelImage, width: number, height: number, kernel: 'linear' | 'lanczos3' = 'linear'): Promise<PixelImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 } })
    .resize(width, height, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels };
}

/** Maps sharp's messages to the error catalogue: a bad image is the client's input, not our fault. */
export function mapSharpError(err: unknown): MediaflowError {
  if (err instanceof MediaflowError) return err;
  const e = err as NodeJS.ErrnoException;
  const msg = String(e?.message ?? err);
  if (e?.code === 'ENOENT') return new MediaflowError('INTERNAL', `input file missing: ${msg}`, { cause: err });
  if (/exceeds pixel limit/i.test(msg)) return new InputError('IMAGE_TOO_LARGE', 'The image has more pixels than the configured limit', { cause: err });
  if (/unsupported image format/i.test(msg)) return new InputError('INPUT_UNSUPPORTED_TYPE', 'The input is not an image in a supported format', { cause: err });
  if (/empty/i.test(msg)) return new InputError('INPUT_EMPTY', 'The image is empty', { cause: err });
  return new InputError('INPUT_CORRUPT', `The image could not be decoded (${msg.replace(/\s+/g, ' ').trim()})`, { cause: err });
}
