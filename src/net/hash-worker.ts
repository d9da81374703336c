import { Worker } from 'node:worker_threads';

// Plain JS, evaluated in the worker: no loader, no imports from the project.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let hash = createHash('sha256');
parentPort.on('message', (m) => {
  if (m.type === 'data') hash.update(new Uint8Array(m.buf, m.offset, m.length));
  else if (m.type === 'reset') hash = createHash('sha256');
  else if (m.type === 'digest') { parentPort.postMessage(hash.digest('hex')); hash = createHash('sha256'); }
});
`;

/**
 * SHA-256 computed on a worker thread. At loopback speeds hashing on the event loop costs about as
 * much as the HTTP parsing itself (≈0.65 s of CPU per GiB), so a download that hashes inline runs at
 * well under half of `curl`'s speed; moving it to another core hides it. Buffers given to `update`
 * are transferred, not copied: the caller must not touch them afterwards.
 *
 * Messages are handled in order, so `update`s, `reset`s and the final `digest` see the same
 * sequence as the calls.
 */
export class OffThreadHash {
  private w: Worker | undefined;
  private failure: Error | undefined;

  /** Started on first use, so that a download refused before its first byte costs no thread. */
  private get worker(): Worker {
    if (!this.w) {
      // execArgv: [] so that the worker does not start the parent's loaders (tsx in development).
      this.w = new Worker(WORKER_SOURCE, { eval: true, execArgv: [] });
      this.w.unref();
      this.w.on('error', (err) => { this.failure = err; });
    }
    return this.w;
  }

  /** Adds `buf` (ownership moves to the worker when it spans its whole ArrayBuffer, else it is copied). */
  update(buf: Buffer): void {
    if (this.failure) throw this.failure;
    const whole = buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength && !(buf.buffer instanceof SharedArrayBuffer);
    const ab = whole ? (buf.buffer as ArrayBuffer) : buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
    this.worker.postMessage({ type: 'data', buf: ab, offset: 0, length: buf.byteLength }, [ab]);
  }

  /** Starts over (the body restarted from byte 0). */
  reset(): void {
    this.worker.postMessage({ type: 'reset' });
  }

  /** The hex digest of everything since the last reset. */
  digest(): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(err);
      this.worker.once('error', onError);
      this.worker.once('message', (hex: string) => {
        this.worker.off('error', onError);
        resolve(hex);
      });
      this.worker.ref(); // keep the process alive until the answer arrives
      this.worker.postMessage({ type: 'digest' });
    }).finally(() => this.worker.unref()) as Promise<string>;
  }

  async close(): Promise<void> {
    await this.w?.terminate();
  }
}
