import { open, type FileHandle } from 'node:fs/promises';

/** Demucs' `--clip-mode`: how a stem that would clip is kept in range when saved. */
export type ClipMode = 'rescale' | 'clamp' | 'none';

/** How one output stem is made from the model's sources: their sum, de-normalised. */
export interface StemRecipe {
  name: string;
  /** Indices of the model's sources summed into this stem (one for a plain stem). */
  sources: number[];
}

/**
 * Writes one output stem as raw interleaved stereo float32 while the separation streams, undoing
 * the input normalisation as Demucs does (`sources * std + mean` per source, then summed), and
 * tracking the peak for the "rescale" clip mode, which needs the whole stem before encoding.
 */
export class StemWriter {
  peak = 0;
  frames = 0;

  private constructor(readonly recipe: StemRecipe, readonly path: string, private readonly fh: FileHandle, private readonly clip: ClipMode) {}

  static async create(recipe: StemRecipe, path: string, clip: ClipMode): Promise<StemWriter> {
    return new StemWriter(recipe, path, await open(path, 'w'), clip);
  }

  /** `data`: planar [sources][2][len] in the model's (normalised) domain. */
  async write(data: Float32Array, len: number, mean: number, std: number): Promise<void> {
    const out = new Float32Array(2 * len);
    const srcs = this.recipe.sources;
    const offset = mean * srcs.length;
    let peak = this.peak;
    for (let c = 0; c < 2; c++) {
      for (let i = 0; i < len; i++) {
        let v = 0;
        for (const s of srcs) v += data[(s * 2 + c) * len + i];
        v = v * std + offset;
        if (this.clip === 'clamp') v = v > 0.99 ? 0.99 : v < -0.99 ? -0.99 : v;
        const a = Math.abs(v);
        if (a > peak) peak = a;
        out[2 * i + c] = v;
      }
    }
    this.peak = peak;
    this.frames += len;
    await this.fh.write(new Uint8Array(out.buffer));
  }

  /** The gain of Demucs' "rescale" mode: `1 / max(1.01 · peak, 1)` (1 when nothing would clip). */
  gain(): number {
    return this.clip === 'rescale' ? 1 / Math.max(1.01 * this.peak, 1) : 1;
  }

  private closed = false;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.fh.close();
  }
}
