import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { decodeToRawFile } from './audio.decode.js';
import { probeAudio } from './audio.probe.js';
import { RawStereoFile } from './audio.raw.js';

export interface LoadedAudio {
  /** Planar samples: `[left, right]`. */
  channels: [Float32Array, Float32Array];
  sampleRate: number;
}

/**
 * Probes and decodes a whole file into memory as stereo float32 at `sampleRate` (default 44100).
 * For short clips and tests; processors read long audio window by window with `RawStereoFile`.
 */
export async function loadAudio(file: string, config: AppConfig, opts: { sampleRate?: number; signal?: AbortSignal } = {}): Promise<LoadedAudio> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-audio-'));
  try {
    const probe = await probeAudio(file, config, { signal: opts.signal });
    const decoded = await decodeToRawFile(file, probe, path.join(dir, 'audio.f32'), config, { sampleRate: opts.sampleRate, signal: opts.signal });
    const raw = await RawStereoFile.open(decoded.path);
    try {
      const planar = new Float32Array(2 * raw.frames);
      await raw.readPlanar(0, raw.frames, planar);
      return { channels: [planar.subarray(0, raw.frames), planar.subarray(raw.frames)], sampleRate: decoded.sampleRate };
    } finally {
      await raw.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
