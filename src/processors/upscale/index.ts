import { existsSync } from 'node:fs';
import { probeImage } from '../../media/image/image.probe.js';
import { validateImageInput } from '../../media/image/image.validate.js';
import { Type } from 'typebox';
import { InputError } from '../../core/errors.js';
import { IMAGE_MIME_TYPES } from '../../media/image/image.formats.js';
import { defineProcessor } from '../../core/processor.types.js';
import { locateModel, MODEL_NAMES } from './esrgan.models.js';
import { checkOutputSize, outputFormat } from './upscale.limits.js';
import type { UpscaleResult } from './upscale.run.js';

export type { UpscaleResult } from './upscale.run.js';

export const UpscaleParamsSchema = Type.Object({
  scale: Type.Union([Type.Literal(2), Type.Literal(3), Type.Literal(4), Type.Literal(8)], {
    default: 2,
    description: 'Upscaling factor: the output is exactly input width × scale by input height × scale. Every model has 2, 3, 4 and 8.',
  }),
  model: Type.Optional(Type.Union([Type.Literal('slim'), Type.Literal('medium'), Type.Literal('thick')], {
    description: 'ESRGAN size, trading speed for detail: `slim` (fastest), `medium` (about half as fast, sharper), '
      + '`thick` (RRDN, the best detail, 7–20× slower than medium). Default: the best PSNR gain over bicubic per second of '
      + 'compute among the models gaining at least 0.5 dB — `slim` at ×2 (+2.2 dB; medium +2.4 dB at 0.4× the speed) and ×3 '
      + '(+1.2 dB; medium +1.5 dB at 0.5× the speed), `medium` at ×4 (+0.75 dB, where slim gains only +0.44 dB), `thick` at ×8 '
      + '(+0.7 dB; slim and medium do worse than bicubic there). Choose `thick` when detail matters more than time (+1.6 dB at ×4). '
      + 'Figures: bench/RESULTS.md.',
  })),
  tile: Type.Integer({
    default: 256,
    minimum: 16,
    maximum: 512,
    description: 'Tile size in input pixels. Tiles get context around them and are cross-faded, so the result does not depend on it beyond '
      + 'rounding; larger tiles are a little faster and need more memory (the engine holds one tile\'s activations: measured peak '
      + '0.5 GB for thick ×2 at 256, 1.4 GB at 512, 2.9 GB for thick ×8 at 512; slim and medium need far less).',
  }),
  format: Type.Optional(Type.Union([Type.Literal('png'), Type.Literal('jpeg'), Type.Literal('webp')], {
    description: "Output format. Default: the input's (PNG for GIF, TIFF and AVIF inputs). JPEG has no alpha: transparency is flattened onto white.",
  })),
  quality: Type.Integer({ default: 90, minimum: 1, maximum: 100, description: 'JPEG/WebP quality (PNG is lossless).' }),
}, { additionalProperties: false });

let engineLoaded = false;

/**
 * `upscale`: image → the same image `scale` times larger, by an ESRGAN network (super-resolution),
 * fully offline. Output `image.<png|jpg|webp>`. EXIF orientation is applied and colour converted to
 * sRGB; alpha is kept (upscaled separately with Lanczos); greyscale stays greyscale; 16-bit inputs
 * give 8-bit outputs; animated GIF/WebP and multi-page TIFF: the first frame is upscaled.
 */
export const upscaleProcessor = defineProcessor({
  name: 'upscale',
  version: '1',
  title: 'Upscale (super-resolution)',
  description: 'Enlarges an image 2×, 3×, 4× or 8× with an ESRGAN neural network, recovering detail that plain resizing blurs. '
    + 'Returns the image and its input and output sizes.',
  input: { kind: 'file', accept: IMAGE_MIME_TYPES },
  params: UpscaleParamsSchema,
  // One job uses every core (tiles run on all inference threads): one at a time per worker process.
  policy: { concurrency: 1, timeoutMs: 60 * 60_000, attempts: 2, backoffMs: 5_000, resource: 'cpu' },
  notes: 'ESRGAN weights from @upscalerjs/esrgan-slim, esrgan-medium and esrgan-thick (MIT, © Kevin Scott; trained on DIV2K), '
    + 'run by onnxruntime-node (MIT), or by TensorFlow.js with its WebAssembly backend (Apache-2.0) where ONNX Runtime is unavailable.',
  shutdown: () => shutdownUpscale(),
  async check(config) {
    const missing: string[] = [];
    for (const m of MODEL_NAMES) {
      try {
        if (!existsSync(locateModel(m, 2, config))) missing.push(m);
      } catch {
        missing.push(m);
      }
    }
    return missing.length ? { ok: false, detail: `models missing: ${missing.join(', ')}` } : { ok: true, detail: `models: ${MODEL_NAMES.join(', ')}` };
  },
  // Header, pixel limit and truncation, checked at submit so bad input gets its 4xx at once; and an
  // output the limits or the chosen format would refuse.
  async validate(input, config, params) {
    await validateImageInput(input, config);
    const probe = await probeImage(input.path, { maxPixels: config.limits.maxImagePixels });
    checkOutputSize(probe.width, probe.height, params.scale, outputFormat(probe.format, params.format), config);
  },
  async run(ctx, input, params): Promise<UpscaleResult> {
    if (input.kind !== 'file') throw new InputError('INPUT_MISSING', 'upscale needs an image file');
    const { runUpscale } = await import('./upscale.run.js');
    engineLoaded = true;
    return runUpscale(ctx, input, params);
  },
});

/** Ends this process's idle inference threads, if an upscale job ever ran (worker shutdown). */
export async function shutdownUpscale(): Promise<void> {
  if (!engineLoaded) return;
  const { closeIdlePools } = await import('./inference.pool.js');
  await closeIdlePools();
}
