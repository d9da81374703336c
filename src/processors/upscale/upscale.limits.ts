import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';
import type { ImageFormat } from '../../media/image/image.formats.js';
import type { EncodeFormat } from '../../media/image/image.encode.js';
import type { ModelName, Scale } from './esrgan.models.js';

/** The largest side each encoder can write (libjpeg: 65535, libwebp: 16383, libpng: 2^31−1). */
const MAX_SIDE: Record<EncodeFormat, number> = { png: 2_147_483_647, jpeg: 65_535, webp: 16_383 };
const ENCODABLE: readonly string[] = ['png', 'jpeg', 'webp'];

/**
 * slim at ×2 (+2.2 dB over bicubic against medium's +2.4, at a third of the time); medium above,
 * where slim's ×4 gain (+0.44 dB) is about half of medium's (+0.75 dB). bench/RESULTS.md.
 */
export function defaultModel(scale: Scale): ModelName {
  return scale === 2 ? 'slim' : 'medium';
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
