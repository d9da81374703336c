import type { FileHandle } from 'node:fs/promises';

/**
 * Writes a stream of chunks to a file in ~1 MiB `writev` batches, one batch in flight while the
 * next one fills. Hand-written rather than a `fs.WriteStream` in a pipeline because a resumable
 * download must know exactly which bytes reached the file when the connection drops: a destroyed
 * write stream may discard queued chunks, which would leave a hole that a `Range` resume cannot
 * see. Here every pushed chunk is written once `flush()` resolves, and `position` is the truth.
 */
export class BatchWriter {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  private readonly batchBytes: number;
  private readonly onWritten?: (position: number, length: number) => void;
  /** Bytes handed to the file so far (complete once `flush()` has resolved). */
  position = 0;

  /**
   * @param opts.batchBytes bytes gathered before a write (default 1 MiB).
   * @param opts.onWritten called with the file range of each batch once it is in the file, in file order.
   */
  constructor(private readonly fh: FileHandle, opts: { batchBytes?: number; onWritten?: (position: number, length: number) => void } = {}) {
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
    const bufs = this.pending;
    const at = this.position;
    const bytes = this.pendingBytes;
    this.position += bytes;
    this.pending = [];
    this.pendingBytes = 0;
    const p = writeAll(this.fh, bufs, at).then(() => this.onWritten?.(at, bytes));
    // Observed by the next push/flush; the no-op catch keeps Node from calling it unhandled meanwhile.
    p.catch(() => undefined);
    this.inflight = p;
  }
}

async function writeAll(fh: FileHandle, bufs: Buffer[], position: number): Promise<void> {
  let left = bufs;
  let pos = position;
  while (left.length > 0) {
    const { bytesWritten } = await fh.writev(left, pos);
    pos += bytesWritten;
    // writev to a regular file writes everything in practice; a short write is handled anyway.
    let skip = bytesWritten;
    const rest: Buffer[] = [];
    for (const b of left) {
      if (skip >= b.length) { skip -= b.length; continue; }
      rest.push(skip > 0 ? b.subarray(skip) : b);
      skip = 0;
    }
    left = rest;
  }
}
