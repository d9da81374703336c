import sharp, { type Sharp } from 'sharp';
import { imageReadError, probeImage, type ImageLimits, type ImageProbe } from './image.probe.js';

export interface DecodeOptions extends ImageLimits {
  /**
   * What to do with an alpha channel: `keep` (RGBA out when the image has one; default),
   * `remove` (drop it, RGB out), `flatten` (composite onto `background`, RGB out).
   */
  alpha?: 'keep' | 'remove' | 'flatten';
  /** Background for `alpha: 'flatten'` (default white). */
  background?: { r: number; g: number; b: number };
}

/** Decoded pixels: 8-bit sRGB, interleaved, rows top to bottom, upright. */
export interface DecodedImage {
  data: Buffer;
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA). */
  channels: 3 | 4;
  probe: ImageProbe;
}

/**
 * A sharp pipeline over an untrusted image, made safe: the header is probed and checked against
 * the limits first (`probeImage`), then the pipeline decodes only the first frame, applies the
 * EXIF orientation, converts any embedded ICC profile, 16-bit, greyscale or CMYK data to 8-bit
 * sRGB, and fails on truncated or corrupt pixel data instead of padding it with grey.
 * Processors chain their own operations on `pipeline` and read it with `toBuffer`; wrap errors
 * with `imageReadError` to report the catalogue's codes.
 */
export async function openImage(input: string | Buffer, limits: ImageLimits): Promise<{ probe: ImageProbe; pipeline: Sharp }> {
  const probe = await probeImage(input, limits);
  const pipeline = sharp(input, {
    // Checked again by libvips itself, in case the header lied to the probe.
    limitInputPixels: limits.maxPixels,
    // 'truncated' rejects missing or damaged pixel data yet accepts files with harmless decoder
    // warnings (extra bytes after a marker, say), which sharp's default 'warning' would refuse.
    failOn: 'truncated',
    autoOrient: true,
    // Animated GIF/WebP and multi-page TIFF: the first frame only (documented behaviour).
    pages: 1,
    page: 0,
  }).toColourspace('srgb');
  return { probe, pipeline };
}

/** Probes, then decodes an image to 8-bit sRGB pixels (see `openImage`). */
export async function decodeImage(input: string | Buffer, opts: DecodeOptions): Promise<DecodedImage> {
  const { probe, pipeline } = await openImage(input, opts);
  const alpha = opts.alpha ?? 'keep';
  if (probe.hasAlpha && alpha === 'remove') pipeline.removeAlpha();
  if (probe.hasAlpha && alpha === 'flatten') pipeline.flatten({ background: opts.background ?? { r: 255, g: 255, b: 255 } });
  try {
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3 && info.channels !== 4) {
      // Grey(+alpha) always becomes sRGB above; anything else means an exotic band layout.
      throw new Error(`unexpected ${info.channels}-channel output`);
    }
    return { data, width: info.width, height: info.height, channels: info.channels, probe };
  } catch (err) {
    throw imageReadError(err);
  }
}
