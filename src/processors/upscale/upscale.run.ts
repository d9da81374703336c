import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  decodeImage, ENCODE_EXTENSION, ENCODE_MIME, encodeImageToFile, probeImage, type EncodeFormat, type ImageFormat,
} from '../../media/image/index.js';
import type { FileInput, ProcessorContext } from '../../core/processor.types.js';
import type { ModelName, Scale } from './esrgan.models.js';
import { checkOutputSize, defaultModel, outputFormat } from './upscale.limits.js';
import { upscaleRaw } from './upscale.pipeline.js';

export interface UpscaleParams {
  scale: Scale;
  model?: ModelName;
  tile: number;
  format?: EncodeFormat;
  quality: number;
}

export interface UpscaleResult {
  input: { width: number; height: number; format: ImageFormat; frames: number };
  output: { name: string; width: number; height: number; format: EncodeFormat; size: number };
  model: ModelName;
  scale: Scale;
  /** The engine that ran: `onnx` (onnxruntime-node) or `tfjs` (TensorFlow.js on WebAssembly). */
  runtime: string;
  tiles: number;
  /** Wall-clock time of the whole job (decode, inference, encode), in milliseconds. */
  timeMs: number;
}

export async function runUpscale(ctx: ProcessorContext, input: FileInput, params: UpscaleParams): Promise<UpscaleResult> {
  const started = performance.now();
  const { scale } = params;
  const model = params.model ?? defaultModel(scale);
  const maxPixels = ctx.config.limits.maxImagePixels;
  ctx.progress(0, 'reading image');

  // Everything that can be refused is refused from the header, before decoding.
  const probe = await probeImage(input.path, { maxPixels });
  const format = outputFormat(probe.format, params.format);
  checkOutputSize(probe.width, probe.height, scale, format, ctx.config);
  if (probe.frames > 1) ctx.log(`the input has ${probe.frames} frames or pages; the first is upscaled`, 'info');

  const img = await decodeImage(input.path, { maxPixels, alpha: 'keep' });
  ctx.signal.throwIfAborted();
  ctx.progress(0.03, 'loading model');

  const outcome = await upscaleRaw(img, {
    model,
    scale,
    tile: params.tile,
    threads: ctx.config.threads || os.availableParallelism(),
    config: ctx.config,
    signal: ctx.signal,
    onProgress: (f, stage) => ctx.progress(0.03 + 0.87 * f, stage),
    log: (m, level) => ctx.log(m, level),
  });
  ctx.signal.throwIfAborted();

  ctx.progress(0.9, 'encoding');
  const name = `image.${ENCODE_EXTENSION[format]}`;
  const file = path.join(ctx.tmpdir, name);
  await encodeImageToFile(outcome.image, file, {
    format,
    quality: params.quality,
    // A grey photograph stays grey (the network's three outputs differ only by rounding there).
    greyscale: probe.channels <= 2,
  });
  const info = await ctx.output(name, file, ENCODE_MIME[format]);
  ctx.progress(1, 'done');
  return {
    input: { width: probe.width, height: probe.height, format: probe.format, frames: probe.frames },
    output: { name, width: outcome.image.width, height: outcome.image.height, format, size: info.size },
    model,
    scale,
    runtime: outcome.runtime,
    tiles: outcome.tiles,
    timeMs: Math.round(performance.now() - started),
  };
}
