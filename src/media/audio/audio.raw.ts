import { open, type FileHandle } from 'node:fs/promises';
import { BYTES_PER_FRAME_STEREO } from './audio.decode.js';

/** Mean and standard deviation of the mono mix (the mean of both channels) of a whole track. */
export interface MonoStats {
  mean: number;
  /** Unbiased (n − 1), as `torch.std`. */
  std: number;
}

/** Frames read per block when scanning a whole file: 1 MiB of samples, whatever the song length. */
const SCAN_FRAMES = 131072;

/**
 * Random access to a raw interleaved stereo float32 file (what `decodeToRawFile` writes): windows
 * are read from disk as the separation needs them, so memory does not grow with the song.
 */
export class RawStereoFile {
  private constructor(private readonly fh: FileHandle, readonly frames: number) {}

  static async open(path: string): Promise<RawStereoFile> {
    const fh = await open(path, 'r');
    const { size } = await fh.stat();
    return new RawStereoFile(fh, Math.floor(size / BYTES_PER_FRAME_STEREO));
  }

  /** One pass over the file, in float64 sums (exact enough for 30 minutes of audio). */
  async monoStats(): Promise<MonoStats> {
    const buf = Buffer.alloc(SCAN_FRAMES * BYTES_PER_FRAME_STEREO);
    let sum = 0;
    let sumSq = 0;
    for (let start = 0; start < this.frames; start += SCAN_FRAMES) {
      const n = Math.min(SCAN_FRAMES, this.frames - start);
      await this.fh.read(buf, 0, n * BYTES_PER_FRAME_STEREO, start * BYTES_PER_FRAME_STEREO);
      const f = new Float32Array(buf.buffer, buf.byteOffset, n * 2);
      for (let i = 0; i < n; i++) {
        const m = 0.5 * (f[2 * i] + f[2 * i + 1]);
        sum += m;
        sumSq += m * m;
      }
    }
    const n = this.frames;
    const mean = n > 0 ? sum / n : 0;
    const variance = n > 1 ? Math.max(0, (sumSq - n * mean * mean) / (n - 1)) : 0;
    return { mean, std: Math.sqrt(variance) };
  }

  /**
   * Reads frames [start, start + length) into planar `out` (channel 0 then channel 1, `length`
   * each), with zeros outside the file (`start` may be negative), then applies `(x − shift) * scale`
   * to the samples inside the file.
   */
  async readPlanar(start: number, length: number, out: Float32Array, shift = 0, scale = 1): Promise<void> {
    if (out.length < 2 * length) throw new RangeError('output buffer too small');
    out.fill(0, 0, 2 * length);
    const from = Math.max(0, start);
    const to = Math.min(this.frames, start + length);
    if (to <= from) return;
    const n = to - from;
    const buf = Buffer.alloc(n * BYTES_PER_FRAME_STEREO);
    await this.fh.read(buf, 0, buf.length, from * BYTES_PER_FRAME_STEREO);
    const f = new Float32Array(buf.buffer, buf.byteOffset, n * 2);
    const o = from - start;
    for (let i = 0; i < n; i++) {
      out[o + i] = (f[2 * i] - shift) * scale;
      out[length + o + i] = (f[2 * i + 1] - shift) * scale;
    }
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
