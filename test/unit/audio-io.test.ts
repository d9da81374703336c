import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultConfig } from '../../src/config/load-config.js';
import { InputError, isMediaflowError } from '../../src/core/errors.js';
import { decodeToRawFile, encodeRawStereo, loadAudio, probeAudio, RawStereoFile } from '../../src/media/audio/index.js';
import { writeAudio, type Stereo } from '../helpers/audio-fixtures.js';
import { peak, snrDb } from '../helpers/audio-metrics.js';
import { inputError } from '../helpers/assertions.js';

const run = promisify(execFile);
const config = defaultConfig({ data: os.tmpdir() });
let dir: string;
const f = (name: string) => path.join(dir, name);

/** 1 s: 440 Hz on the left, 660 Hz on the right, at 44.1 kHz. */
function tones(rate = 44100, seconds = 1): Stereo {
  const n = Math.round(rate * seconds);
  return {
    left: Float32Array.from({ length: n }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 440 * i) / rate)),
    right: Float32Array.from({ length: n }, (_, i) => 0.25 * Math.sin((2 * Math.PI * 660 * i) / rate)),
  };
}

/** Normalised correlation of `a` with `b`: 1 when the same shape. */
function corr(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-audio-io-'));
  const t = tones();
  await writeAudio(f('tones.wav'), [t.left, t.right], 44100, ['-c:a', 'pcm_s16le']);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('decodes wav, flac, mp3, ogg/vorbis, opus, m4a/aac and the audio of a video to 44.1 kHz stereo float', async () => {
  const t = tones();
  const cases: Array<[string, string[], number]> = [
    ['a.flac', ['-c:a', 'flac'], 80],
    ['a.mp3', ['-c:a', 'libmp3lame', '-b:a', '192k'], 15],
    ['a.ogg', ['-c:a', 'libvorbis', '-q:a', '5'], 15],
    ['a.opus', ['-c:a', 'libopus', '-b:a', '128k'], 10],
    ['a.m4a', ['-c:a', 'aac', '-b:a', '192k'], 10],
  ];
  for (const [name, codec, minSnr] of cases) {
    await run('ffmpeg', ['-v', 'error', '-i', f('tones.wav'), ...codec, '-y', f(name)]);
  }
  // A video file: a test pattern with the tones as its sound track.
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=1', '-i', f('tones.wav'),
    '-map', '0:v', '-map', '1:a', '-c:v', 'mpeg4', '-c:a', 'aac', '-shortest', '-y', f('video.mp4')]);
  for (const [name, , minSnr] of [['tones.wav', [], 85] as const, ...cases, ['video.mp4', [], 10] as const]) {
    const probe = await probeAudio(f(name), config);
    assert.equal(probe.hasVideo, name === 'video.mp4', name);
    const a = await loadAudio(f(name), config);
    assert.equal(a.sampleRate, 44100);
    // Lossy codecs add priming samples that ffmpeg trims from the stream's metadata: a frame's worth at most.
    assert.ok(Math.abs(a.channels[0].length - 44100) <= 1152, `${name}: ${a.channels[0].length} frames`);
    // Left stays left: the 440 Hz tone, not the 660 Hz one.
    assert.ok(corr(a.channels[0], t.left) > 0.95, `${name}: left correlation ${corr(a.channels[0], t.left)}`);
    assert.ok(corr(a.channels[1], t.right) > 0.95, `${name}: right correlation ${corr(a.channels[1], t.right)}`);
    if (minSnr >= 80) {
      const r = snrDb({ left: a.channels[0], right: a.channels[1] }, t);
      assert.ok(r > minSnr, `${name}: ${r.toFixed(1)} dB`);
    }
  }
});

test('mono is duplicated to both channels at full level; 48 kHz is resampled to 44.1 kHz', async () => {
  const mono = tones(48000, 1.5).left;
  await writeAudio(f('mono48.flac'), [mono], 48000, ['-c:a', 'flac']);
  const probe = await probeAudio(f('mono48.flac'), config);
  assert.equal(probe.channels, 1);
  assert.equal(probe.sampleRate, 48000);
  const a = await loadAudio(f('mono48.flac'), config);
  assert.equal(a.channels[0].length, 66150);
  assert.deepEqual(a.channels[0], a.channels[1]);
  // Full level (ffmpeg's default upmix would give 0.5 / √2 ≈ 0.354).
  assert.ok(Math.abs(peak({ left: a.channels[0], right: a.channels[1] }) - 0.5) < 0.01);
  // Still a 440 Hz tone, now sampled at 44.1 kHz (away from the edges, where the resampler's filter starts).
  const ideal = tones(44100, 1.5).left;
  const r = snrDb({ left: a.channels[0], right: a.channels[1] }, { left: ideal, right: ideal }, 2000, 64000);
  assert.ok(r > 60, `resampled tone SNR ${r.toFixed(1)} dB`);
});

test('RawStereoFile: planar windows with zeros outside, normalisation, and the mono mix statistics', async () => {
  const probe = await probeAudio(f('tones.wav'), config);
  const decoded = await decodeToRawFile(f('tones.wav'), probe, f('tones.f32'), config);
  const raw = await RawStereoFile.open(decoded.path);
  try {
    assert.equal(raw.frames, 44100);
    const ref = await loadAudio(f('tones.wav'), config);
    const out = new Float32Array(2 * 100);
    await raw.readPlanar(-30, 100, out, 0.1, 2);
    for (let i = 0; i < 30; i++) assert.equal(out[i], 0);
    for (let i = 30; i < 100; i++) {
      assert.ok(Math.abs(out[i] - (ref.channels[0][i - 30] - 0.1) * 2) < 1e-6);
      assert.ok(Math.abs(out[100 + i] - (ref.channels[1][i - 30] - 0.1) * 2) < 1e-6);
    }
    const stats = await raw.monoStats();
    let m = 0;
    const mono = ref.channels[0].map((v, i) => 0.5 * (v + ref.channels[1][i]));
    for (const v of mono) m += v;
    m /= mono.length;
    let s = 0;
    for (const v of mono) s += (v - m) ** 2;
    assert.ok(Math.abs(stats.mean - m) < 1e-9);
    assert.ok(Math.abs(stats.std - Math.sqrt(s / (mono.length - 1))) < 1e-7);
  } finally {
    await raw.close();
  }
});

test('encodes wav 16/24/float, flac 16/24 and mp3 at a bitrate, reproducibly', async () => {
  const t = tones();
  const rawFile = f('enc.f32');
  const inter = new Float32Array(2 * t.left.length);
  t.left.forEach((v, i) => { inter[2 * i] = v; inter[2 * i + 1] = t.right[i]; });
  await writeFile(rawFile, new Uint8Array(inter.buffer));
  const cases = [
    { name: 'o16.wav', o: { format: 'wav', bitDepth: 16 }, codec: 'pcm_s16le', minSnr: 85 },
    { name: 'o24.wav', o: { format: 'wav', bitDepth: 24 }, codec: 'pcm_s24le', minSnr: 130 },
    { name: 'o32.wav', o: { format: 'wav', bitDepth: 32 }, codec: 'pcm_f32le', minSnr: 200 },
    { name: 'o16.flac', o: { format: 'flac', bitDepth: 16 }, codec: 'flac', minSnr: 85, bits: 16 },
    { name: 'o24.flac', o: { format: 'flac', bitDepth: 24 }, codec: 'flac', minSnr: 130, bits: 24 },
    { name: 'o.mp3', o: { format: 'mp3', bitrateKbps: 128 }, codec: 'mp3', minSnr: 0 },
  ] as const;
  for (const c of cases) {
    await encodeRawStereo(rawFile, f(c.name), config, { ...c.o, sampleRate: 44100 });
    const { stdout } = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', f(c.name)]);
    const s = JSON.parse(stdout).streams[0];
    assert.equal(s.codec_name, c.codec, c.name);
    assert.equal(Number(s.sample_rate), 44100);
    assert.equal(s.channels, 2);
    if ('bits' in c) assert.equal(Number(s.bits_per_raw_sample), c.bits, c.name);
    if (c.o.format === 'mp3') assert.ok(Math.abs(Number(s.bit_rate) - 128000) < 8000, `mp3 bitrate ${s.bit_rate}`);
    const back = await loadAudio(f(c.name), config);
    if (c.minSnr > 0) {
      const r = snrDb({ left: back.channels[0], right: back.channels[1] }, t);
      assert.ok(r > c.minSnr, `${c.name}: ${r.toFixed(1)} dB`);
    } else {
      assert.ok(corr(back.channels[0], t.left) > 0.9, 'mp3 keeps the tone');
    }
  }
  // The same samples give the same bytes (no encoder version or date in the file).
  await encodeRawStereo(rawFile, f('again.flac'), config, { format: 'flac', bitDepth: 16, sampleRate: 44100 });
  const sha = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
  assert.equal(await sha(f('again.flac')), await sha(f('o16.flac')));
  // A gain (Demucs' "rescale") is applied while encoding.
  await encodeRawStereo(rawFile, f('half.wav'), config, { format: 'wav', bitDepth: 32, gain: 0.5, sampleRate: 44100 });
  const half = await loadAudio(f('half.wav'), config);
  assert.ok(Math.abs(peak({ left: half.channels[0], right: half.channels[1] }) - 0.25) < 1e-4);
  await assert.rejects(encodeRawStereo(rawFile, f('x.flac'), config, { format: 'flac', bitDepth: 32, sampleRate: 44100 }), (e: unknown) => isMediaflowError(e) && e.code === 'PARAMS_INVALID');
});

test('refuses what is not usable audio with stable codes', async () => {
  await writeFile(f('empty.wav'), Buffer.alloc(0));
  await writeFile(f('text.wav'), 'This is a text file, not a RIFF header.\nSecond line.\n');
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=red:size=32x32', '-frames:v', '1', '-y', f('image.png')]);
  await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x64:rate=10:duration=1', '-c:v', 'mpeg4', '-y', f('silent-video.mp4')]);
  await run('ffmpeg', ['-v', 'error', '-i', f('tones.wav'), '-c:a', 'flac', '-y', f('good.flac')]);
  const good = await readFile(f('good.flac'));
  // Garbage over a third of the frames (the STREAMINFO header stays valid).
  const mid = Buffer.from(good);
  for (let i = Math.floor(mid.length / 3); i < Math.floor(mid.length / 3) + 4000; i++) mid[i] = (i * 7919) & 0xff;
  await writeFile(f('mid.flac'), mid);
  // A damaged header: ffprobe then believes the file lasts hours.
  const hdr = Buffer.from(good);
  for (let i = 8; i < 42; i++) hdr[i] = 0xab;
  await writeFile(f('header.flac'), hdr);
  await writeFile(f('truncated.flac'), good.subarray(0, 3000));

  await assert.rejects(probeAudio(f('empty.wav'), config), inputError('INPUT_EMPTY'));
  await assert.rejects(probeAudio(f('text.wav'), config), inputError('INPUT_UNSUPPORTED_TYPE'));
  await assert.rejects(probeAudio(f('image.png'), config), inputError('INPUT_UNSUPPORTED_TYPE'));
  await assert.rejects(probeAudio(f('silent-video.mp4'), config), inputError('INPUT_UNSUPPORTED_TYPE'));
  // Whether the probe or the decoder notices first, the answer is the same.
  for (const name of ['header.flac', 'mid.flac', 'truncated.flac']) {
    const both = async () => decodeToRawFile(f(name), await probeAudio(f(name), config), f(`${name}.f32`), config);
    await assert.rejects(both(), inputError('INPUT_CORRUPT'), name);
  }
});

test('the duration limit is enforced from the header and again on the decoded samples', async () => {
  const short = defaultConfig({ data: os.tmpdir(), limits: { maxAudioSeconds: 0.5 } });
  await assert.rejects(probeAudio(f('tones.wav'), short), (e: unknown) => {
    assert.ok(e instanceof InputError && e.code === 'AUDIO_TOO_LONG');
    assert.match(e.message, /limit is 0\.5 s/);
    return true;
  });
  // A header that does not say (or lies): the decoder stops past the limit and refuses.
  const probe = await probeAudio(f('tones.wav'), config);
  const { duration: _dropped, ...noDuration } = probe;
  await assert.rejects(decodeToRawFile(f('tones.wav'), noDuration, f('long.f32'), short), inputError('AUDIO_TOO_LONG'));
});

test('a missing ffprobe is TOOL_MISSING, not a crash', async () => {
  const broken = defaultConfig({ data: os.tmpdir(), tools: { ffprobe: path.join(dir, 'no-such-ffprobe') } });
  await assert.rejects(probeAudio(f('tones.wav'), broken), (e: unknown) => isMediaflowError(e) && e.code === 'TOOL_MISSING');
});
