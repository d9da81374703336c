import type { Readable } from 'node:stream';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import type { Job } from '../core/job.types.js';
import type { OutputInfo, ProcessorContext } from '../core/processor.types.js';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import type { Lease, Queue } from '../core/ports/queue.port.js';
import type { Scratch } from '../core/scratch.js';
import { isSafeOutputName } from '../util/safe-name.js';

const PROGRESS_EVERY_MS = 200;
const MAX_LOG_EVENTS = 500;

export interface JobContextDeps {
  job: Job;
  lease: Lease;
  config: AppConfig;
  queue: Queue;
  blobs: BlobStore;
  scratch: Scratch;
  signal: AbortSignal;
  /** Called once when a guarded write is refused: the lease is gone. */
  onLeaseLost: () => void;
}

export type WorkerJobContext = ProcessorContext & {
  flush(): Promise<void>;
  /** Removes the attempt's scratch folder, if one was made. */
  dispose(): Promise<void>;
};

/**
 * The worker's ProcessorContext. Every write goes through the queue under the job's lease, so a
 * worker that lost its lease changes nothing. Outputs go to the blob store and are attached to the
 * job at once (clients can fetch them while the job runs); progress is throttled to one write per
 * 200 ms. The scratch folder is made on first use (light processors never need one) and removed
 * when the attempt ends, whatever the ending.
 */
export function createJobContext(d: JobContextDeps): WorkerJobContext {
  let dir: string | null = null;
  let lastWrite = 0;
  let pending: { f: number; stage: string | null } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let logs = 0;
  let writing: Promise<unknown> = Promise.resolve();
  const guard = (applied: boolean) => { if (!applied) d.onLeaseLost(); return applied; };

  const write = () => {
    timer = null;
    if (!pending) return;
    const { f, stage } = pending;
    pending = null;
    lastWrite = Date.now();
    writing = writing.then(() => d.queue.progress(d.lease, f, stage)).then(guard).catch(() => undefined);
  };

  const ctx: WorkerJobContext = {
    jobId: d.job.id,
    attempt: d.job.attempts,
    signal: d.signal,
    get tmpdir(): string {
      // Processors read `ctx.tmpdir` synchronously: the folder is made synchronously here.
      if (!dir) dir = d.scratch.dirSync(`job-${d.job.id.slice(0, 8)}`);
      return dir;
    },
    config: d.config,
    progress(fraction, stage) {
      const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
      pending = { f, stage: stage ?? null };
      const wait = PROGRESS_EVERY_MS - (Date.now() - lastWrite);
      if (wait <= 0) write();
      else if (!timer) timer = setTimeout(write, wait);
    },
    log(message, level = 'info') {
      if (++logs > MAX_LOG_EVENTS) return;
      writing = writing.then(() => d.queue.log(d.lease, level, String(message).slice(0, 2000))).then(guard).catch(() => undefined);
    },
    async output(name: string, source: string | Buffer | Readable, mime: string): Promise<OutputInfo> {
      if (!isSafeOutputName(name)) throw new MediaflowError('INTERNAL', `unsafe output name ${JSON.stringify(name)}`);
      const blob = typeof source === 'string' ? await d.blobs.putFile(source, { signal: d.signal }) : await d.blobs.put(source, { signal: d.signal });
      const info: OutputInfo = { name, size: blob.size, mime, sha256: blob.sha256 };
      if (!guard(await d.queue.output(d.lease, info))) throw new MediaflowError('LEASE_LOST');
      return info;
    },
    async flush() {
      if (timer) clearTimeout(timer);
      write();
      await writing;
    },
    async dispose() {
      await d.scratch.release(dir);
    },
  };
  return ctx;
}
