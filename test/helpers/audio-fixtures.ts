import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultConfig } from '../../src/config/load-config.js';
import { loadAudio } from '../../src/media/audio/index.js';

const run = promisify(execFile);
const config = defaultConfig({ data: '/tmp' });
export const RATE = 44100;

export interface Stereo { left: Float32Array; right: Float32Array }

/** Speech made by espeak-ng, at 44.1 kHz stereo (centred, as a lead vocal is), exactly `seconds` long. */
export async function makeSpeech(dir: string, seconds: number, text = SPEECH): Promise<Stereo> {
  const raw = path.join(dir, 'speech-espeak.wav');
  await run('espeak-ng', ['-v', 'en-us', '-s', '155', '-p', '55', '-w', raw, text]);
  return fit(await load(raw), seconds);
}

const SPEECH = 'The quick brown fox jumps over the lazy dog. She sells sea shells by the sea shore, and the shells she sells are surely '
  + 'sea shells. Peter Piper picked a peck of pickled peppers, a peck of pickled peppers Peter Piper picked. How much wood would a '
  + 'woodchuck chuck if a woodchuck could chuck wood.';

/**
 * A music bed synthesised with sox: plucked-string chords (A minor, F, C, G, re-struck every
 * 0.625 s), a sawtooth bass line, and kick, snare and hi-hat, mixed to stereo with some panning.
 */
export async function makeMusicBed(dir: string, seconds: number): Promise<Stereo> {
  const f = (n: string) => path.join(dir, `bed-${n}.wav`);
  const sox = (args: string[]) => run('sox', args);
  const bars = Math.ceil(seconds / 2.5);
  const chords = [['A3', 'C4', 'E4', 'A4'], ['F3', 'A3', 'C4', 'F4'], ['C3', 'E3', 'G3', 'C4'], ['G3', 'B3', 'D4', 'G4']];
  const bass = ['A1', 'F1', 'C2', 'G1'];
  const chordFiles: string[] = [];
  for (let b = 0; b < bars; b++) {
    const notes = chords[b % 4];
    const noteFiles = notes.map((_, i) => f(`c${b}-${i}`));
    await Promise.all(notes.map((n, i) => sox(['-n', '-r', String(RATE), '-c', '1', noteFiles[i], 'synth', '0.625', 'pluck', n, 'repeat', '3'])));
    const bassFile = f(`b${b}`);
    await sox(['-n', '-r', String(RATE), '-c', '1', bassFile, 'synth', '0.3125', 'sawtooth', bass[b % 4], 'lowpass', '600', 'fade', '0.005', '0.3125', '0.05', 'repeat', '7']);
    const chordFile = f(`chord${b}`);
    await sox(['-m', ...noteFiles.flatMap((nf) => ['-v', '0.3', nf]), '-v', '0.35', bassFile, chordFile]);
    chordFiles.push(chordFile);
  }
  await sox([...chordFiles, f('harmony')]);
  const beats = Math.ceil(seconds / 0.5);
  await sox(['-n', '-r', String(RATE), '-c', '1', f('kick'), 'synth', '0.12', 'sine', '120:45', 'fade', '0', '0.12', '0.1', 'pad', '0', '0.38', 'repeat', String(beats - 1)]);
  await sox(['-n', '-r', String(RATE), '-c', '1', f('snare'), 'synth', '0.1', 'pinknoise', 'bandpass', '1800', '1.5q', 'fade', '0', '0.1', '0.09', 'pad', '0.5', '0.4', 'repeat', String(Math.ceil(beats / 2) - 1)]);
  await sox(['-n', '-r', String(RATE), '-c', '1', f('hat'), 'synth', '0.03', 'whitenoise', 'highpass', '7000', 'fade', '0', '0.03', '0.025', 'pad', '0', '0.22', 'repeat', String(beats * 2 - 1)]);
  await sox(['-m', '-v', '1', f('harmony'), '-v', '0.9', f('kick'), '-v', '0.5', f('snare'), '-v', '0.25', f('hat'), f('bed-mono')]);
  // Stereo with unequal channel levels, so that left and right are not identical.
  await sox(['-M', f('bed-mono'), f('bed-mono'), f('bed-stereo'), 'remix', '1v0.9', '2v0.75']);
  return fit(await load(f('bed-stereo')), seconds);
}

async function load(file: string): Promise<Stereo> {
  const a = await loadAudio(file, config);
  return { left: a.channels[0], right: a.channels[1] };
}

/** Cuts or zero-pads to exactly `seconds`. */
function fit(s: Stereo, seconds: number): Stereo {
  const n = Math.round(seconds * RATE);
  const cut = (a: Float32Array) => { const o = new Float32Array(n); o.set(a.subarray(0, Math.min(n, a.length))); return o; };
  return { left: cut(s.left), right: cut(s.right) };
}

/**
 * Removes each channel's mean. sox's plucks and sawtooth carry a little DC, which a mastered song
 * does not; Demucs adds the mix's mean back to every stem, so a DC offset would dominate the
 * difference between stems that are otherwise the same.
 */
export function removeDc(s: Stereo): Stereo {
  const centre = (a: Float32Array) => { let m = 0; for (const v of a) m += v; m /= a.length; return a.map((v) => v - m); };
  return { left: centre(s.left), right: centre(s.right) };
}

export function rms(s: Stereo): number {
  let e = 0;
  for (const a of [s.left, s.right]) for (let i = 0; i < a.length; i++) e += a[i] * a[i];
  return Math.sqrt(e / (2 * s.left.length));
}

export function scale(s: Stereo, g: number): Stereo {
  return { left: s.left.map((v) => v * g), right: s.right.map((v) => v * g) };
}

export function add(a: Stereo, b: Stereo): Stereo {
  return { left: a.left.map((v, i) => v + b.left[i]), right: a.right.map((v, i) => v + b.right[i]) };
}

/**
 * Writes stereo (or mono: `right` omitted) float samples with ffmpeg at `rate` in any format ffmpeg
 * infers from the extension, with optional codec arguments (e.g. `['-c:a', 'pcm_f32le']`).
 */
export async function writeAudio(file: string, channels: Float32Array[], rate = RATE, codecArgs: string[] = []): Promise<void> {
  const n = channels[0].length;
  const inter = new Float32Array(n * channels.length);
  for (let i = 0; i < n; i++) for (let c = 0; c < channels.length; c++) inter[i * channels.length + c] = channels[c][i];
  const rawFile = `${file}.f32`;
  await writeFile(rawFile, new Uint8Array(inter.buffer));
  await run('ffmpeg', ['-v', 'error', '-f', 'f32le', '-ar', String(rate), '-ac', String(channels.length), '-i', rawFile, ...codecArgs, '-y', file]);
  await run('rm', ['-f', rawFile]);
}

/** Reads any audio file back as 44.1 kHz stereo through Mediaflow's own decoder. */
export async function readAudio(file: string): Promise<Stereo> {
  return load(file);
}

/** A vocal + music test song: the components at known levels, and their sum written to `file`. */
export async function makeSong(dir: string, seconds: number, file: string, opts: { vocalDb?: number; codecArgs?: string[] } = {}): Promise<{ speech: Stereo; bed: Stereo; mix: Stereo }> {
  const [speechRaw, bedRaw] = (await Promise.all([makeSpeech(dir, seconds), makeMusicBed(dir, seconds)])).map(removeDc);
  // Both at −20 dBFS RMS, then the voice at `vocalDb` relative to the bed (default 0 dB: equal loudness).
  const speech = scale(speechRaw, 0.1 * 10 ** ((opts.vocalDb ?? 0) / 20) / rms(speechRaw));
  const bed = scale(bedRaw, 0.1 / rms(bedRaw));
  const mix = add(speech, bed);
  await writeAudio(file, [mix.left, mix.right], RATE, opts.codecArgs ?? ['-c:a', 'pcm_f32le']);
  return { speech, bed, mix };
}
