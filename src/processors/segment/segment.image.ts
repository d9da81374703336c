import sharp from 'sharp';
import type { AppConfig } from '../../config/config.schema.js';
import { decodeImage } from '../../media/image/index.js';
import type { PixelImage } from './builtin/builtin.engine.js';

/**
 * Pixels for segmentation: the shared safe decoder (header checked against `limits.maxImagePixels`
 * before any pixel is decoded; upright 8-bit sRGB, RGBA kept because transparency marks objects).
 */
export async function loadImage(input: string | Buffer, config: AppConfig): Promise<PixelImage> {
  const img = await decodeImage(input, { maxPixels: config.limits.maxImagePixels, alpha: 'keep' });
  return { data: img.data, width: img.width, height: img.height, channels: img.channels };
}

/** Resizes pixels already in memory (a working copy, or a model's input size). */
export async function resizePixels(img: PixelImage, width: number, height: number, kernel: 'linear' | 'lanczos3' = 'linear'): Promise<PixelImage> {
  const { data, info } = await sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels as 1 | 2 | 3 | 4 }, limitInputPixels: false })
    .resize(width, height, { fit: 'fill', kernel })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
