import { mkdirSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import type { Job } from '../core/job.types.js';
import type { OutputInfo, ProcessorContext } from '../core/processor.types.js';
import type { JobStore } from '../core/ports/job-store.port.js';
import { isSafeOutputName } from '../util/safe-name.js';

const PROGRESS_EVERY_MS = 200;
const MAX_LOG_EVENTS = 500;

export interface JobContextDeps {
  job: Job;
  config: AppConfig;
  store: JobStore;
  blobs: BlobStore;
  signal: AbortSignal;
  logger?: (job: Job, level: string, message: string) => void;
}

/**
 * The worker's ProcessorContext: outputs go to the blob store and are attached to the job at once
 * (clients can fetch them while the job runs); progress is throttled to one write per 200 ms.
 */
export async function createJobContext(d: JobContextDeps): Promise<ProcessorContext & { flush(): Promise<void>; readonly tmpdirIfCreated: string | null }> {
  const tmpRoot = path.join(d.config.data, 'tmp');
  // Made on first use: most jobs of light processors never need one, and the queue's throughput
  // should not pay two filesystem calls per job for it.
  let tmpdir: string | null = null;
  let lastWrite = 0;
  let pending: { f: number; stage: string | null } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let logs = 0;
  let writing: Promise<void> = Promise.resolve();

  const write = () => {
    timer = null;
    if (!pending) return;
    const { f, stage } = pending;
    pending = null;
    lastWrite = Date.now();
    writing = writing.then(() => d.store.setProgress(d.job.id, f, stage)).catch(() => undefined);
  };

  return {
    jobId: d.job.id,
    signal: d.signal,
    get tmpdir() {
      if (!tmpdir) {
        mkdirSync(tmpRoot, { recursive: true });
        tmpdir = mkdtempSync(path.join(tmpRoot, `job-${d.job.id.slice(0, 8)}-`));
      }
      return tmpdir;
    },
    get tmpdirIfCreated() {
      return tmpdir;
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
      d.logger?.(d.job, level, message);
      if (++logs > MAX_LOG_EVENTS) return;
      writing = writing.then(() => d.store.appendEvent({ type: 'log', jobId: d.job.id, level, message: String(message).slice(0, 2000) })).catch(() => undefined);
    },
    async output(name: string, source: string | Buffer | Readable, mime: string): Promise<OutputInfo> {
      if (!isSafeOutputName(name)) throw new MediaflowError('INTERNAL', `unsafe output name ${JSON.stringify(name)}`);
      const blob = typeof source === 'string' ? await d.blobs.putFile(source) : await d.blobs.put(source);
      const info: OutputInfo = { name, size: blob.size, mime, sha256: blob.sha256 };
      await d.store.putOutput(d.job.id, info);
      return info;
    },
    async flush() {
      if (timer) clearTimeout(timer);
      write();
      await writing;
    },
  };
}
