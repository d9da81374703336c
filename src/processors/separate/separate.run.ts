import { mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { AUDIO_FORMATS, decodeToRawFile, encodeRawStereo, probeAudio, RawStereoFile, type AudioFormat, type BitDepth } from '../../media/audio/index.js';
import { resolveModel } from '../../models/index.js';
import type { FileInput, ProcessorContext } from '../../core/processor.types.js';
import { applyModel, type MixReader, type SegmentModel } from './demucs.apply.js';
import { getHtdemucsEngine, type SegmentInput, type SegmentOutput } from './htdemucs.engine.js';
import { HT } from './htdemucs.spec.js';
import { seededRandint } from './seeded-random.js';
import { StemWriter, type ClipMode, type StemRecipe } from './stem.writer.js';

export interface SeparateParams {
  stems: 'vocals' | 'all';
  shifts: number;
  overlap: number;
  format: AudioFormat;
  bitDepth: BitDepth;
  bitrate: number;
  clip: ClipMode;
  seed?: number;
}

export interface SeparateResult {
  model: 'htdemucs';
  /** The stems written, in order; each is the output `<stem>.<format>`. */
  stems: string[];
  outputs: string[];
  /** Seconds of audio separated. */
  duration: number;
  sampleRate: number;
  channels: 2;
  frames: number;
  shifts: number;
  overlap: number;
  /** Seed of the random shifts, and the shifts it drew (samples, 0 … samplerate/2). */
  seed: number;
  offsets: number[];
  windows: number;
  input: { format: string; codec: string; sampleRate?: number; channels?: number; hasVideo: boolean };
  /** Stems that the "rescale" clip mode turned down, with the gain applied. */
  rescaled: Record<string, number>;
  timings: {
    totalMs: number;
    decodeMs: number;
    /** Starting this process's model session (0 when a previous job already did). */
    modelLoadMs: number;
    separateMs: number;
    /** Inside the ONNX session. */
    modelMs: number;
    /** STFT/iSTFT around the model (on the job's thread, overlapped with the model's next run). */
    dspMs: number;
    encodeMs: number;
  };
}

/** Below this the mix is silent (or constant): Demucs would divide by zero and write NaN. */
const MIN_STD = 1e-8;
const VOCALS = HT.sources.indexOf('vocals');

function recipes(stems: SeparateParams['stems']): StemRecipe[] {
  if (stems === 'all') return HT.sources.map((name, i) => ({ name, sources: [i] }));
  // Demucs' `--two-stems vocals`: the stem, and the sum of the others as `no_vocals`.
  return [
    { name: 'vocals', sources: [VOCALS] },
    { name: 'no_vocals', sources: HT.sources.map((_, i) => i).filter((i) => i !== VOCALS) },
  ];
}

/**
 * The `separate` job: probe → decode to a raw file → normalise (mean/std of the mono mix) →
 * Demucs' apply_model window by window in the process's model thread → de-normalise into one raw
 * file per stem → encode → outputs. Outputs appear only once every stem is encoded, so a failure
 * leaves no half-written result.
 */
export async function runSeparate(ctx: ProcessorContext, input: FileInput, params: SeparateParams): Promise<SeparateResult> {
  const t0 = performance.now();
  const { config, signal } = ctx;
  if (params.format === 'flac' && params.bitDepth === 32) {
    throw new InputError('PARAMS_INVALID', 'flac stores integers only: use bitDepth 16 or 24, or format wav for 32-bit float');
  }
  const model = await resolveModel('htdemucs', config);
  const work = path.join(ctx.tmpdir, 'separate');
  await mkdir(work, { recursive: true });
  const writers: StemWriter[] = [];
  let raw: RawStereoFile | null = null;
  try {
    ctx.progress(0, 'reading audio');
    const probe = await probeAudio(input.path, config, { signal });
    const decoded = await decodeToRawFile(input.path, probe, path.join(work, 'mix.f32'), config, { sampleRate: HT.sampleRate, signal });
    for (const w of decoded.warnings) ctx.log(`decoder: ${w}`, 'warn');
    raw = await RawStereoFile.open(decoded.path);
    const stats = await raw.monoStats();
    const std = stats.std > MIN_STD ? stats.std : 1;
    const mean = stats.mean;
    const t1 = performance.now();
    ctx.progress(0.03, 'loading model');

    const threads = config.threads > 0 ? config.threads : os.availableParallelism();
    const cacheDir = config.models.dir ?? path.join(config.data, 'models');
    const engine = await getHtdemucsEngine({ modelPath: model.path, threads, cacheDir });
    const t2 = performance.now();
    signal.throwIfAborted();

    const stems = recipes(params.stems);
    for (const r of stems) writers.push(await StemWriter.create(r, path.join(work, `${r.name}.f32`), params.clip));
    const file = raw;
    const mix: MixReader = {
      length: file.frames,
      read: (start, len, out) => file.readPlanar(start, len, out, mean, 1 / std),
    };
    const segmentModel: SegmentModel<SegmentInput, SegmentOutput> = {
      segment: HT.segment,
      sources: HT.sources.length,
      sampleRate: HT.sampleRate,
      prepare: (m) => engine.prepare(m),
      run: (p) => engine.run(p),
      finish: (r) => engine.finish(r),
    };
    const seed = params.seed ?? Number.parseInt(input.sha256.slice(0, 8), 16);
    const applied = await applyModel(segmentModel, mix, {
      shifts: params.shifts,
      overlap: params.overlap,
      randint: seededRandint(seed),
      signal,
      onWindow: (done, total) => ctx.progress(0.05 + 0.89 * (done / total), `window ${done}/${total}`),
      sink: async (_start, len, data) => {
        for (const w of writers) await w.write(data, len, mean, std);
      },
    });
    for (const w of writers) await w.close();
    const t3 = performance.now();

    ctx.progress(0.95, 'encoding');
    const { ext, mime } = AUDIO_FORMATS[params.format];
    const rescaled: Record<string, number> = {};
    signal.throwIfAborted();
    // The stems are encoded side by side: each ffmpeg is single-threaded.
    const encoded = await Promise.all(writers.map(async (w) => {
      const gain = w.gain();
      if (gain !== 1) rescaled[w.recipe.name] = Number(gain.toFixed(6));
      const file = path.join(work, `${w.recipe.name}.${ext}`);
      await encodeRawStereo(w.path, file, config, {
        format: params.format, bitDepth: params.bitDepth, bitrateKbps: params.bitrate, gain, sampleRate: HT.sampleRate, signal,
      });
      await rm(w.path, { force: true });
      return { name: `${w.recipe.name}.${ext}`, file };
    }));
    for (const e of encoded) await ctx.output(e.name, e.file, mime);
    const t4 = performance.now();
    ctx.progress(1, 'done');

    return {
      model: 'htdemucs',
      stems: stems.map((s) => s.name),
      outputs: encoded.map((e) => e.name),
      duration: decoded.frames / HT.sampleRate,
      sampleRate: HT.sampleRate,
      channels: 2,
      frames: decoded.frames,
      shifts: params.shifts,
      overlap: params.overlap,
      seed,
      offsets: applied.offsets,
      windows: applied.windows,
      input: { format: probe.format, codec: probe.codec, sampleRate: probe.sampleRate, channels: probe.channels, hasVideo: probe.hasVideo },
      rescaled,
      timings: {
        totalMs: Math.round(t4 - t0),
        decodeMs: Math.round(t1 - t0),
        modelLoadMs: Math.round(t2 - t1),
        separateMs: Math.round(t3 - t2),
        modelMs: Math.round(applied.modelMs),
        dspMs: Math.round(applied.dspMs),
        encodeMs: Math.round(t4 - t3),
      },
    };
  } finally {
    await raw?.close().catch(() => undefined);
    for (const w of writers) await w.close().catch(() => undefined);
    await rm(work, { recursive: true, force: true });
  }
}
