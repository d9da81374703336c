import { stat } from 'node:fs/promises';
import sharp, { type Metadata } from 'sharp';
import { InputError, MediaflowError } from '../../core/errors.js';
import { IMAGE_FORMATS, type ImageFormat } from './image.formats.js';

export interface ImageLimits {
  /**
   * Largest accepted width × height (after EXIF orientation), checked on the header before any
   * pixel is decoded. Use `config.limits.maxImagePixels`.
   */
  maxPixels: number;
}

/** What the header of an image says, read without decoding its pixels. */
export interface ImageProbe {
  format: ImageFormat;
  mime: string;
  /** Width as displayed, i.e. after the EXIF orientation is applied. */
  width: number;
  /** Height as displayed, i.e. after the EXIF orientation is applied. */
  height: number;
  /** EXIF orientation 1..8 (1 when absent). */
  orientation: number;
  /** Channels as stored (1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha or CMYK). */
  channels: number;
  hasAlpha: boolean;
  /** Bits per sample as stored (8 or 16 for most files). */
  bitDepth: number;
  /** libvips' name for the stored colour space: `srgb`, `b-w`, `rgb16`, `grey16`, `cmyk`… */
  space: string;
  /** True when an ICC profile is embedded (it is applied on decode: pixels come out as sRGB). */
  hasProfile: boolean;
  /** Frames (animated GIF/WebP) or pages (TIFF). Only the first is decoded. */
  frames: number;
}

const DEPTH_BITS: Record<string, number> = { uchar: 8, char: 8, ushort: 16, short: 16, uint: 32, int: 32, float: 32, double: 64 };

/** First line of a libvips error: the rest repeats the decoder's warnings. */
function vipsMessage(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0].trim();
}

/**
 * Maps an error thrown by sharp while reading an image to the error catalogue. Exported so that
 * processors that run their own sharp pipelines on untrusted input report the same codes.
 */
export function imageReadError(err: unknown, what = 'image'): MediaflowError {
  if (err instanceof MediaflowError) return err;
  const msg = vipsMessage(err);
  if (/unsupported image format/i.test(msg)) {
    return new InputError('INPUT_UNSUPPORTED_TYPE', `The ${what} is not an image in a supported format`, { cause: err });
  }
  if (/exceeds pixel limit/i.test(msg)) {
    return new InputError('IMAGE_TOO_LARGE', `The ${what} has more pixels than the configured limit`, { cause: err });
  }
  if ((err as NodeJS.ErrnoException)?.code === 'ENOENT') {
    return new MediaflowError('INPUT_MISSING', `The ${what} file does not exist`, { cause: err });
  }
  if (/out of memory|cannot allocate/i.test(msg)) {
    return new MediaflowError('INTERNAL', `Out of memory while decoding the ${what}`, { cause: err });
  }
  return new InputError('INPUT_CORRUPT', `The ${what} could not be decoded: ${msg}`, { cause: err });
}

/**
 * Reads an image's header (never its pixels) and checks it against the limits. Throws:
 * `INPUT_EMPTY` (zero bytes), `INPUT_UNSUPPORTED_TYPE` (not an image, or SVG/PDF/HEIC),
 * `INPUT_CORRUPT` (a damaged header), `IMAGE_TOO_LARGE` (more pixels than `limits.maxPixels`:
 * a decompression bomb is refused here, before a single row is inflated).
 */
export async function probeImage(input: string | Buffer, limits: ImageLimits): Promise<ImageProbe> {
  const size = typeof input === 'string' ? await stat(input).then((s) => s.size, (err) => { throw imageReadError(err); }) : input.length;
  if (size === 0) throw new InputError('INPUT_EMPTY', 'The image file is empty (0 bytes)');
  let meta: Metadata;
  try {
    // limitInputPixels: false here so the configured limit below gives the one, precise error.
    meta = await sharp(input, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw imageReadError(err);
  }
  // sharp names AVIF and HEIC both `heif`; only AV1 (AVIF) decodes with the bundled libheif.
  const format = (meta.format === 'heif' ? (meta.compression === 'av1' ? 'avif' : 'heic') : meta.format) as string;
  if (!(format in IMAGE_FORMATS)) {
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `Images in ${format.toUpperCase()} format are not supported (use ${Object.keys(IMAGE_FORMATS).join(', ')})`);
  }
  const width = meta.autoOrient?.width ?? meta.width;
  const height = meta.autoOrient?.height ?? meta.height;
  if (!width || !height) throw new InputError('INPUT_CORRUPT', 'The image header gives no dimensions');
  const pixels = width * height;
  if (pixels > limits.maxPixels) {
    throw new InputError('IMAGE_TOO_LARGE', `The image is ${width}×${height} (${pixels} pixels); the limit is ${limits.maxPixels} pixels`, {
      details: { width, height, pixels, limit: limits.maxPixels },
    });
  }
  return {
    format: format as ImageFormat,
    mime: IMAGE_FORMATS[format as ImageFormat],
    width,
    height,
    orientation: meta.orientation ?? 1,
    channels: meta.channels,
    hasAlpha: meta.hasAlpha,
    bitDepth: meta.bitsPerSample ?? DEPTH_BITS[meta.depth] ?? 8,
    space: meta.space,
    hasProfile: meta.hasProfile,
    frames: meta.pages ?? 1,
  };
}
