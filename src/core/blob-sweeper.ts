import type { BlobStore } from './ports/blob-store.port.js';
import type { JobStore } from './ports/job-store.port.js';
import { PeriodicPass } from './periodic-pass.js';
import type { Scratch } from './scratch.js';

export interface SweepReport {
  blobs: number;
  partial: number;
  scratch: number;
}

/**
 * Mark and sweep with an age threshold, chosen over reference counts because it needs nothing of
 * the adapters but "is this referenced?" and "delete if not touched since", and so works the same
 * on a local disk and on S3, across any number of processes:
 * a blob goes only when (1) no job references it and (2) it was neither written nor touched for
 * `graceMs`. Every `put` touches the blob it stores, and a job record that references it is created
 * right after the put, well within the grace period — so a submit racing the sweep either shows as a
 * reference or as a fresh mtime, which `deleteIfUnchanged` checks once more in the same step as the
 * delete. Partial writes and the scratch folders of dead processes go in the same pass.
 */
export class BlobSweeper {
  private readonly periodic = new PeriodicPass(() => this.pass(Date.now()), (err) => this.d.log?.('warn', 'blob sweep failed', { err: String(err) }));

  constructor(private readonly d: { store: JobStore; blobs: BlobStore; scratch?: Scratch; graceMs: number; log?: (level: string, msg: string, extra?: object) => void }) {}

  /** One pass (`now` moves the clock, for tests); periodic passes share one in flight. */
  sweep(now?: number): Promise<SweepReport> {
    return now === undefined ? this.periodic.run() : this.pass(now);
  }

  private async pass(now: number): Promise<SweepReport> {
    const bound = now - this.d.graceMs;
    const report: SweepReport = { blobs: 0, partial: 0, scratch: 0 };
    let batch: string[] = [];
    const flush = async () => {
      const referenced = await this.d.store.referencedBlobs(batch);
      for (const sha of batch) {
        if (!referenced.has(sha) && (await this.d.blobs.deleteIfUnchanged(sha, bound))) report.blobs++;
      }
      batch = [];
    };
    for await (const entry of this.d.blobs.list()) {
      if (entry.modifiedMs > bound) continue;
      batch.push(entry.sha256);
      if (batch.length >= 200) await flush();
    }
    if (batch.length) await flush();
    report.partial = await this.d.blobs.sweepPartial(bound);
    report.scratch = (await this.d.scratch?.sweep()) ?? 0;
    if (report.blobs || report.partial || report.scratch) this.d.log?.('info', 'swept unreferenced files', { ...report });
    return report;
  }

  /** Sweeps now and every `everyMs`. */
  start(everyMs: number): this {
    this.periodic.start(everyMs);
    return this;
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
