import { stat } from 'node:fs/promises';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';
import { sniffMime } from '../sniff.js';
import { runFfmpeg } from '../tools/ffmpeg.js';
import { ffprobeJson, probeNumber as num, SAFE_INPUT_ARGS } from '../tools/ffprobe.js';
import { firstErrorLine } from '../tools/tools.run.js';

/** The audio stream Mediaflow will decode, and what ffprobe says about its file. */
export interface AudioProbe {
  /** ffprobe's demuxer name, e.g. `wav`, `flac`, `mov,mp4,m4a,3gp,3g2,mj2`. */
  format: string;
  /** Seconds, when the container says (absent for some raw streams). */
  duration?: number;
  /** The stream's index in the file (`-map 0:<index>`). */
  streamIndex: number;
  codec: string;
  sampleRate?: number;
  channels?: number;
  /** The file also holds a video stream (the audio of a video file is separated). */
  hasVideo: boolean;
}

/** ffprobe's score below which a guess is too weak to trust when the content has no known magic. */
const WEAK_PROBE_SCORE = 25;

function looksLikeMedia(mime: string): boolean {
  return /^(audio|video)\//.test(mime) || mime === 'application/ogg';
}

export interface ProbeAudioOptions {
  signal?: AbortSignal;
  /** Longest accepted duration in seconds (default `config.limits.maxAudioSeconds`). */
  maxSeconds?: number;
}

/**
 * Probes a file with ffprobe before anything is decoded, and refuses what an audio processor cannot
 * use, with stable codes: `INPUT_EMPTY` (zero bytes), `INPUT_UNSUPPORTED_TYPE` (not audio at all:
 * a text file, an image, a video without sound), `INPUT_CORRUPT` (an audio or video container that
 * ffprobe cannot read) and `AUDIO_TOO_LONG` (over the limit, judged from the header here and again
 * on the decoded samples, since a header can lie).
 */
export async function probeAudio(file: string, config: AppConfig, opts: ProbeAudioOptions = {}): Promise<AudioProbe> {
  const st = await stat(file);
  if (st.size === 0) throw new InputError('INPUT_EMPTY', 'The audio file is empty (0 bytes)');
  const { json: parsed, run } = await ffprobeJson(file, config, opts.signal);
  const streams = parsed?.streams ?? [];
  const audio = streams.find((s) => s.codec_type === 'audio');
  const mime = await sniffMime(file);
  if (!parsed?.format) {
    if (looksLikeMedia(mime)) {
      throw new InputError('INPUT_CORRUPT', `The ${mime} file could not be read: ${firstErrorLine(run.stderr) || 'unreadable header'}`, { details: { mime } });
    }
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `The file is not audio (detected type: ${mime})`, { details: { mime } });
  }
  const format = String(parsed.format.format_name ?? '');
  const score = num(parsed.format.probe_score) ?? 100;
  if (score < WEAK_PROBE_SCORE && !looksLikeMedia(mime)) {
    // e.g. a text file that the lenient MPEG-audio prober half-recognises: not something to "separate".
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `The file is not audio (detected type: ${mime})`, { details: { mime, format, score } });
  }
  if (!audio) {
    const what = streams.some((s) => s.codec_type === 'video') ? 'a video without an audio stream' : 'not audio';
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `The file is ${what} (${format})`, { details: { mime, format } });
  }
  const duration = num(parsed.format.duration) ?? num(audio.duration);
  const limit = opts.maxSeconds ?? config.limits.maxAudioSeconds;
  if (duration !== undefined && duration > limit) {
    if (!await firstSecondDecodes(file, Number(audio.index ?? 0), config, opts.signal)) {
      throw new InputError('INPUT_CORRUPT', `The ${format} audio could not be decoded (its header claims ${duration.toFixed(0)} s)`, { details: { mime, format } });
    }
    throw new InputError('AUDIO_TOO_LONG', `The audio lasts ${duration.toFixed(1)} s; the limit is ${limit} s`, { details: { duration, limit } });
  }
  return {
    format,
    ...(duration !== undefined ? { duration } : {}),
    streamIndex: Number(audio.index ?? 0),
    codec: String(audio.codec_name ?? 'unknown'),
    ...(num(audio.sample_rate) !== undefined ? { sampleRate: num(audio.sample_rate) } : {}),
    ...(num(audio.channels) !== undefined ? { channels: num(audio.channels) } : {}),
    hasVideo: streams.some((s) => s.codec_type === 'video' && !(s.disposition as Record<string, number> | undefined)?.attached_pic),
  };
}

/**
 * True when the first second of the stream decodes. Checked before reporting `AUDIO_TOO_LONG`
 * from a header: a damaged header can claim hours, and "corrupt" is then the truthful answer.
 */
async function firstSecondDecodes(file: string, streamIndex: number, config: AppConfig, signal?: AbortSignal): Promise<boolean> {
  const run = await runFfmpeg(config, [...SAFE_INPUT_ARGS, '-i', file, '-map', `0:${streamIndex}`, '-t', '1', '-f', 'null', '-'], { signal });
  return run.code === 0;
}
