/**
 * One measured run for bench/upscale.bench.ts, in its own process so that its peak RSS is its own.
 * Argument: a JSON job. Prints one JSON line with the figures.
 *
 *  - engine `mediaflow`: Mediaflow's tiled pipeline (upscaleRaw) with the chosen runtime.
 *  - engine `upscaler`: the `upscaler` npm package's own pipeline (its browser ESM build: its Node
 *    entry needs tfjs-node, which cannot be installed offline) on @tensorflow/tfjs + the wasm
 *    backend, with the same weights read from the same package folder.
 *  - engine `processor`: the whole `upscale` processor (decode, tiles, encode, output) on a file.
 */
import { readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';

interface Job {
  engine: 'mediaflow' | 'upscaler' | 'processor';
  runtime?: 'onnx' | 'tfjs';
  model: 'slim' | 'medium' | 'thick';
  scale: 2 | 3 | 4 | 8;
  /** Raw RGB input (`width`×`height`×3) for the pipelines; an image file for `processor`. */
  input: string;
  width: number;
  height: number;
  /** Where to write the raw RGB output (pipelines only). */
  out?: string;
  tile?: number;
  range?: 255 | 1;
  threads: number;
  patchSize?: number;
  padding?: number;
  /** Timed runs (pipelines); the fastest counts, as the machine may be shared. Default 2. */
  repeat?: number;
}

const job = JSON.parse(process.argv[2]) as Job;
const lag = monitorEventLoopDelay({ resolution: 10 });
const result: Record<string, unknown> = {};

async function mediaflow(): Promise<void> {
  const { upscaleRaw } = await import('../src/processors/upscale/upscale.pipeline.js');
  const { closeIdlePools } = await import('../src/processors/upscale/inference.pool.js');
  const data = await readFile(job.input);
  const opts = { model: job.model, scale: job.scale, tile: job.tile ?? 256, runtime: job.runtime, threads: job.threads, range: job.range };
  let t = performance.now();
  await upscaleRaw({ data: Buffer.alloc(16 * 16 * 3, 128), width: 16, height: 16, channels: 3 }, opts); // starts the engines
  result.loadMs = performance.now() - t;
  let r: Awaited<ReturnType<typeof upscaleRaw>> | undefined;
  result.ms = Infinity;
  lag.enable();
  for (let k = 0; k < (job.repeat ?? 2); k++) {
    t = performance.now();
    r = await upscaleRaw({ data, width: job.width, height: job.height, channels: 3 }, opts);
    result.ms = Math.min(result.ms as number, performance.now() - t);
  }
  lag.disable();
  result.tiles = r!.tiles;
  if (job.out) await writeFile(job.out, r!.image.data);
  await closeIdlePools();
}

async function upscaler(): Promise<void> {
  const tf = await import('@tensorflow/tfjs');
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  // The browser build's types describe a namespace; its default export is the Upscaler class.
  const Upscaler = (await import('upscaler')).default as unknown as new (opts: { model: unknown }) => {
    ready: Promise<void>;
    upscale(input: unknown, opts: Record<string, unknown>): Promise<unknown>;
  };
  const { readLayersModel } = await import('../src/processors/upscale/esrgan.weights.js');
  const { locateModel } = await import('../src/processors/upscale/esrgan.models.js');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  setWasmPaths(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep);
  await tf.setBackend('wasm');
  const pkg = { slim: '@upscalerjs/esrgan-slim', medium: '@upscalerjs/esrgan-medium', thick: '@upscalerjs/esrgan-thick' }[job.model];
  const definition = (await import(`${pkg}/${job.scale}x`)).default;
  // The package's own definition (ranges, custom layers, setup); only the model files come from
  // disk instead of a CDN (a TF.js IOHandler in place of the URL).
  const files = await readLayersModel(locateModel(job.model, job.scale));
  let t = performance.now();
  const up = new Upscaler({ model: { ...definition, path: { load: async () => files } } });
  await up.ready;
  await up.upscale(tf.zeros([16, 16, 3]) as never, { output: 'tensor' });
  result.loadMs = performance.now() - t;
  const data = await readFile(job.input);
  const input = tf.tensor3d(new Int32Array(data), [job.height, job.width, 3], 'int32');
  let pixels: Float32Array | undefined;
  result.ms = Infinity;
  for (let k = 0; k < (job.repeat ?? 2); k++) {
    t = performance.now();
    const out = (await up.upscale(input as never, { output: 'tensor', patchSize: job.patchSize, padding: job.padding })) as unknown as import('@tensorflow/tfjs').Tensor3D;
    pixels = (await out.data()) as Float32Array;
    out.dispose();
    result.ms = Math.min(result.ms as number, performance.now() - t);
  }
  if (job.out) await writeFile(job.out, Buffer.from(Uint8Array.from(pixels!, (v) => Math.round(v))));
}

async function processor(): Promise<void> {
  const { upscaleProcessor, shutdownUpscale } = await import('../src/processors/upscale/index.js');
  const { defaultConfig } = await import('../src/config/load-config.js');
  const { createLocalContext, fileInputFromPath } = await import('../src/worker/local-context.js');
  const { sniffMime } = await import('../src/media/sniff.js');
  // Loaded before the event-loop monitor starts: module loading is not what is measured.
  await import('../src/processors/upscale/upscale.run.js');
  const outDir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-upscale-bench-'));
  const ctx = await createLocalContext({ config: defaultConfig({ data: os.tmpdir(), threads: job.threads }), outDir });
  try {
    const input = await fileInputFromPath(job.input, await sniffMime(job.input));
    lag.enable();
    const t = performance.now();
    const r = await upscaleProcessor.run(ctx, input, { scale: job.scale, model: job.model, tile: job.tile ?? 256, quality: 90, format: 'jpeg' });
    result.ms = performance.now() - t;
    lag.disable();
    result.tiles = r.tiles;
    result.outputBytes = r.output.size;
    result.runtime = r.runtime;
  } finally {
    await ctx.dispose();
    await rm(outDir, { recursive: true, force: true });
    await shutdownUpscale();
  }
}

await (job.engine === 'mediaflow' ? mediaflow() : job.engine === 'upscaler' ? upscaler() : processor());
result.maxRssBytes = process.resourceUsage().maxRSS * 1024;
result.maxLagMs = lag.max / 1e6;
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
