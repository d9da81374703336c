import { stat } from 'node:fs/promises';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';
import { runFfmpeg } from '../tools/ffmpeg.js';
import { SAFE_INPUT_ARGS } from '../tools/ffprobe.js';
import { firstErrorLine } from '../tools/tools.run.js';
import type { AudioProbe } from './audio.probe.js';

/**
 * Demuxers whose header gives the stream's exact length (a sample count or a precise duration),
 * unlike MPEG audio or ADTS, whose duration may be estimated from the bitrate.
 */
const EXACT_LENGTH_FORMATS = new Set(['wav', 'w64', 'flac', 'aiff', 'caf', 'mov', 'mp4', 'm4a', 'ogg', 'matroska', 'webm', 'wv', 'tta', 'ape']);

/** Bytes of one stereo float32 frame in a raw file written by `decodeToRawFile`. */
export const BYTES_PER_FRAME_STEREO = 8;

export interface DecodeOptions {
  /** Output sample rate in Hz (default 44100, what Demucs was trained on). */
  sampleRate?: number;
  /** Longest accepted duration in seconds (default `config.limits.maxAudioSeconds`). */
  maxSeconds?: number;
  signal?: AbortSignal;
}

export interface DecodedAudio {
  /** Path of the raw file: interleaved stereo float32 little-endian (L R L R ...). */
  path: string;
  frames: number;
  sampleRate: number;
  /** Decoding problems ffmpeg reported but recovered from (a few glitches in a long mp3). */
  warnings: string[];
}

/**
 * The filter chain that makes any input stereo float at `rate`. Mono is duplicated into both
 * channels at full level, as Demucs does (ffmpeg's own mono→stereo upmix would lower it by 3 dB);
 * more than two channels are downmixed by ffmpeg's standard matrix. Resampling uses SoX's resampler,
 * the high-quality one ffmpeg ships.
 */
function filterChain(probe: AudioProbe, rate: number): string {
  const chain: string[] = [];
  if (probe.channels === 1) chain.push('pan=stereo|c0=c0|c1=c0');
  if (probe.sampleRate !== rate) chain.push(`aresample=${rate}:resampler=soxr:precision=28`);
  chain.push(`aformat=sample_fmts=flt:sample_rates=${rate}:channel_layouts=stereo`);
  return chain.join(',');
}

/**
 * Decodes the probed audio stream to a raw stereo float32 file with ffmpeg, so that a long song is
 * read window by window from disk instead of being held in memory. Refuses, with stable codes,
 * audio that does not decode (`INPUT_CORRUPT`) and audio whose decoded length is over the limit
 * (`AUDIO_TOO_LONG`; the header's duration was checked by the probe, this catches a lying header).
 */
export async function decodeToRawFile(file: string, probe: AudioProbe, rawPath: string, config: AppConfig, opts: DecodeOptions = {}): Promise<DecodedAudio> {
  const rate = opts.sampleRate ?? 44100;
  const limit = opts.maxSeconds ?? config.limits.maxAudioSeconds;
  const run = await runFfmpeg(config, [
    ...SAFE_INPUT_ARGS, '-i', file,
    '-map', `0:${probe.streamIndex}`, '-vn', '-sn', '-dn', '-af', filterChain(probe, rate),
    // A little past the limit, so that "too long" is seen without decoding a whole hostile file.
    '-t', String(limit + 1), '-c:a', 'pcm_f32le', '-f', 'f32le', '-y', rawPath,
  ], { signal: opts.signal });
  const size = await stat(rawPath).then((s) => s.size, () => 0);
  const frames = Math.floor(size / BYTES_PER_FRAME_STEREO);
  if (run.code !== 0 || frames === 0) {
    throw new InputError('INPUT_CORRUPT', `The audio could not be decoded: ${firstErrorLine(run.stderr) || 'no samples'}`, { details: { format: probe.format, codec: probe.codec } });
  }
  const seconds = frames / rate;
  if (seconds > limit) {
    throw new InputError('AUDIO_TOO_LONG', `The audio lasts more than ${limit} s (the limit)`, { details: { limit } });
  }
  const warnings = [...new Set(run.stderr.split('\n').map((l) => l.trim()).filter((l) => /error|invalid|failed/i.test(l)))];
  // ffmpeg skips what it cannot decode and still exits 0, often without a word (the FLAC parser
  // resyncs silently). Containers that state their exact length tell a damaged or truncated file
  // by the samples missing; for the others a shortfall only counts when the decoder complained.
  if (probe.duration !== undefined) {
    const missing = probe.duration - seconds;
    const exact = probe.format.split(',').some((n) => EXACT_LENGTH_FORMATS.has(n));
    if (missing > 0.1 && missing > 0.02 * probe.duration && (exact || warnings.length > 0)) {
      throw new InputError('INPUT_CORRUPT', `The audio is damaged or truncated: ${((missing / probe.duration) * 100).toFixed(0)}% of it could not be decoded${warnings.length ? ` (${firstErrorLine(warnings.join('\n'))})` : ''}`, {
        details: { format: probe.format, codec: probe.codec, decodedSeconds: seconds, headerSeconds: probe.duration },
      });
    }
  }
  return { path: rawPath, frames, sampleRate: rate, warnings: warnings.slice(0, 5) };
}

