import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../core/errors.js';
import { runFfmpeg } from '../tools/ffmpeg.js';
import { firstErrorLine } from '../tools/tools.run.js';

export type AudioFormat = 'wav' | 'flac' | 'mp3';
/** Sample size of wav/flac outputs: 16 or 24-bit integers, or 32 = IEEE float (wav only). */
export type BitDepth = 16 | 24 | 32;

export const AUDIO_FORMATS: Record<AudioFormat, { ext: string; mime: string }> = {
  wav: { ext: 'wav', mime: 'audio/wav' },
  flac: { ext: 'flac', mime: 'audio/flac' },
  mp3: { ext: 'mp3', mime: 'audio/mpeg' },
};

export interface EncodeOptions {
  format: AudioFormat;
  /** wav/flac sample size (default 16). flac has no float variant: 32 is refused for it. */
  bitDepth?: BitDepth;
  /** mp3 bitrate in kbit/s (default 320, Demucs' default). */
  bitrateKbps?: number;
  /** A gain applied while encoding (default 1), e.g. Demucs' "rescale" that prevents clipping. */
  gain?: number;
  sampleRate: number;
  signal?: AbortSignal;
}

function codecArgs(o: EncodeOptions): string[] {
  const depth = o.bitDepth ?? 16;
  switch (o.format) {
    case 'wav':
      return ['-c:a', depth === 32 ? 'pcm_f32le' : depth === 24 ? 'pcm_s24le' : 'pcm_s16le', '-f', 'wav'];
    case 'flac':
      if (depth === 32) throw new MediaflowError('PARAMS_INVALID', 'flac stores integers only: use bitDepth 16 or 24, or wav for float');
      // ffmpeg's flac encoder takes s16 or s32; 24 significant bits are declared separately.
      return ['-c:a', 'flac', '-sample_fmt', depth === 24 ? 's32' : 's16', ...(depth === 24 ? ['-bits_per_raw_sample', '24'] : []), '-f', 'flac'];
    case 'mp3':
      return ['-c:a', 'libmp3lame', '-b:a', `${o.bitrateKbps ?? 320}k`, '-f', 'mp3'];
  }
}

/**
 * Encodes a raw interleaved stereo float32 file to wav, flac or mp3 with ffmpeg. Output is
 * byte-reproducible (`bitexact`: no encoder version strings), so the same samples give the same
 * file and the same sha256.
 */
export async function encodeRawStereo(rawPath: string, outPath: string, config: AppConfig, o: EncodeOptions): Promise<void> {
  const gain = o.gain ?? 1;
  const run = await runFfmpeg(config, [
    '-f', 'f32le', '-ar', String(o.sampleRate), '-ac', '2', '-i', rawPath,
    ...(gain !== 1 ? ['-af', `volume=${gain.toPrecision(9)}:precision=float`] : []),
    '-map_metadata', '-1', '-fflags', '+bitexact', '-flags:a', '+bitexact',
    ...codecArgs(o), '-y', outPath,
  ], { signal: o.signal });
  if (run.code !== 0) throw new MediaflowError('PROCESSING_FAILED', `ffmpeg could not encode ${o.format}: ${firstErrorLine(run.stderr)}`);
}
