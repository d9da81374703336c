import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';
import type { ImageFormat } from '../../media/image/image.formats.js';
import type { EncodeFormat } from '../../media/image/image.encode.js';
import type { ModelName, Scale } from './esrgan.models.js';

/** The largest side each encoder can write (libjpeg: 65535, libwebp: 16383, libpng: 2^31−1). */
const MAX_SIDE: Record<EncodeFormat, number> = { png: 2_147_483_647, jpeg: 65_535, webp: 16_383 };
const ENCODABLE: readonly string[] = ['png', 'jpeg', 'webp'];

/**
 * The default model per scale, chosen by measured quality per second (bench/RESULTS.md, "Default
 * model by quality per second"): among the models that gain at least 0.5 dB PSNR over bicubic, the
 * most dB × output MP/s. slim at ×2 (+2.20 dB against medium's +2.39, 2.5× as fast) and ×3 (+1.24
 * against +1.51, 2× as fast); medium at ×4, where slim gains only +0.44 dB (medium +0.75); thick at
 * ×8, the only one that beats bicubic there (+0.70 dB; slim −0.35, medium −0.29; from 48×48 inputs
 * +0.83, −0.39, −0.33), at about a seventh of their speed.
 */
export function defaultModel(scale: Scale): ModelName {
  if (scale <= 3) return 'slim';
  return scale === 4 ? 'medium' : 'thick';
}

/** The output format: the one asked for, else the input's when it can be written, else PNG. */
export function outputFormat(input: ImageFormat, requested?: EncodeFormat): EncodeFormat {
  return requested ?? (ENCODABLE.includes(input) ? input as EncodeFormat : 'png');
}

/**
 * Refuses, from the input's dimensions alone, an output larger than `limits.maxOutputPixels`
 * (IMAGE_TOO_LARGE) or wider than the output format can store (PARAMS_INVALID). Used at submit
 * (`validate`) and again by the job.
 */
export function checkOutputSize(width: number, height: number, scale: Scale, format: EncodeFormat, config: AppConfig): void {
  const outW = width * scale;
  const outH = height * scale;
  const max = config.limits.maxOutputPixels;
  if (outW * outH > max) {
    throw new InputError('IMAGE_TOO_LARGE', `A ×${scale} upscale of this ${width}×${height} image would be ${outW}×${outH} (${outW * outH} pixels); the output limit is ${max} pixels`, {
      details: { width: outW, height: outH, pixels: outW * outH, limit: max },
    });
  }
  if (Math.max(outW, outH) > MAX_SIDE[format]) {
    throw new InputError('PARAMS_INVALID', `${format.toUpperCase()} images cannot be larger than ${MAX_SIDE[format]} pixels on a side (the output would be ${outW}×${outH}); choose png or a smaller scale`);
  }
}
