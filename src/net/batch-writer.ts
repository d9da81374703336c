import type { FileHandle } from 'node:fs/promises';

/**
 * Writes a stream of chunks to a file in ~1 MiB batches, one batch in flight while the next one
 * fills. Each batch is joined into one buffer (one copy) so that, once written, it can be handed
 * whole to `onWritten` (the off-thread hash takes ownership of it). Hand-written rather than a `fs.WriteStream` in a pipeline because a resumable
 * download must know exactly which bytes reached the file when the connection drops: a destroyed
 * write stream may discard queued chunks, which would leave a hole that a `Range` resume cannot
 * see. Here every pushed chunk is written once `flush()` resolves, and `position` is the truth.
 */
export class BatchWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  /** Bytes handed to the file so far (complete once `flush()` has resolved). */
  position = 0;

  private readonly batchBytes: number;
  private readonly onWritten?: (buf: Buffer) => void;

  /**
   * @param opts.batchBytes bytes gathered before a write (default 1 MiB).
   * @param opts.onWritten called with each batch after it reached the file, in file order; it may keep the buffer.
   */
  constructor(private readonly fh: FileHandle, opts: { batchBytes?: number; onWritten?: (buf: Buffer) => void } = {}) {
    this.batchBytes = opts.batchBytes ?? 1 << 20;
    this.onWritten = opts.onWritten;
  }

  /** Queues a chunk; waits only when a full batch is ready and the previous one is still being written. */
  async push(chunk: Buffer): Promise<void> {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes >= this.batchBytes) {
      await this.inflight;
      this.startWrite();
    }
  }

  /** Writes everything pushed so far. */
  async flush(): Promise<void> {
    await this.inflight;
    if (this.pendingBytes > 0) {
      this.startWrite();
      await this.inflight;
    }
  }

  /** Drops what was written (the server restarted the body from byte 0). */
  async reset(): Promise<void> {
    await this.flush();
    await this.fh.truncate(0);
    this.position = 0;
  }

  private startWrite(): void {
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const at = this.position;
    this.position += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    const p = writeAll(this.fh, buf, at).then(() => this.onWritten?.(buf));
    // Observed by the next push/flush; the no-op catch keeps Node from calling it unhandled meanwhile.
    p.catch(() => undefined);
    this.inflight = p;
  }
}

async function writeAll(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  // A regular file takes the whole buffer in practice; a short write is handled anyway.
  while (off < buf.length) {
    const { bytesWritten } = await fh.write(buf, off, buf.length - off, position + off);
    off += bytesWritten;
  }
}
