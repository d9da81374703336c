import { Worker } from 'node:worker_threads';

// Plain JS, evaluated in the worker: no loader, no imports from the project.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { openSync, readSync, closeSync } = require('node:fs');
const { createHash } = require('node:crypto');
const buf = Buffer.allocUnsafe(1 << 20);
let fd = -1;
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.type === 'range') {
    if (fd < 0) fd = openSync(workerData.file, 'r');
    for (let pos = m.position, end = m.position + m.length; pos < end;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - pos), pos);
      if (n === 0) break; // truncated meanwhile: a reset follows, this hash is dropped
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } else if (m.type === 'reset') hash = createHash('sha256');
  else if (m.type === 'digest') {
    parentPort.postMessage(hash.digest('hex'));
    if (fd >= 0) closeSync(fd);
    fd = -1;
  }
});
`;

/**
 * SHA-256 of a file being written, computed on a worker thread that reads back each range once it
 * is written (from the page cache, where it just went). At loopback speeds hashing on the event
 * loop costs about as much as the HTTP parsing itself (≈0.65 s of CPU per GiB on a SHA-NI
 * machine) and holds a download well below `curl`'s speed; this way the event loop only posts
 * one small message per written batch. It also hashes exactly what is on disk.
 *
 * Messages are handled in order. After `reset` (the file was truncated to restart the body), any
 * earlier range still queued is hashed into the discarded state, so it cannot leak into the result.
 * The file must stay in place until `digest()` resolves.
 */
export class FileHasher {
  private w: Worker | undefined;
  private failure: Error | undefined;

  constructor(private readonly file: string) {}

  /** Started on first use, so that a download refused before its first byte costs no thread. */
  private get worker(): Worker {
    if (!this.w) {
      // execArgv: [] so that the worker does not start the parent's loaders (tsx in development).
      const w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [], workerData: { file: this.file } });
      w.unref();
      w.on('error', (err) => { this.failure = err; });
      this.w = w;
    }
    return this.w;
  }

  /** Bytes `[position, position + length)` of the file are final: hash them next. */
  written(position: number, length: number): void {
    if (this.failure) throw this.failure;
    if (length > 0) this.worker.postMessage({ type: 'range', position, length });
  }

  /** Starts over (the file was truncated; the body restarts from byte 0). */
  reset(): void {
    this.worker.postMessage({ type: 'reset' });
  }

  /** The hex digest of every range since the last reset. */
  async digest(): Promise<string> {
    if (this.failure) throw this.failure;
    const worker = this.worker;
    worker.ref(); // keep the process alive until the answer arrives
    try {
      return await new Promise<string>((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        worker.once('error', onError);
        worker.once('message', (hex: string) => {
          worker.off('error', onError);
          resolve(hex);
        });
        worker.postMessage({ type: 'digest' });
      });
    } finally {
      worker.unref();
    }
  }

  async close(): Promise<void> {
    await this.w?.terminate();
  }
}
