import type { JobStore } from './ports/job-store.port.js';
import type { Queue } from './ports/queue.port.js';
import { PeriodicPass } from './periodic-pass.js';

/**
 * Makes the queue agree with the job records, which are the truth: a `queued` record the queue does
 * not hold (a crash between create and enqueue; Redis restarted empty) is enqueued again, and
 * running jobs whose lease expired (their worker died or froze) are put back or failed.
 * Runs at start, every `everyMs` (default 30 s), and whenever the queue asks (Redis reconnected).
 */
export class QueueReconciler {
  private readonly periodic = new PeriodicPass(() => this.pass(), (err) => this.d.log?.('warn', 'queue reconcile failed', { err: String(err) }));

  constructor(private readonly d: { store: JobStore; queue: Queue; log?: (level: string, msg: string, extra?: object) => void; onRequeued?: () => void }) {}

  /** One pass; returns how many jobs were enqueued again. Concurrent callers share it. */
  reconcile(): Promise<number> {
    return this.periodic.run();
  }

  private async pass(): Promise<number> {
    let restored = 0;
    // Records younger than this may be between create and enqueue right now.
    const before = new Date(Date.now() - 2000);
    let after = 0;
    for (;;) {
      const page = await this.d.store.listQueued(before, after, 500);
      if (page.length === 0) break;
      after = page[page.length - 1]!.seq;
      const missing = new Set(await this.d.queue.missing(page.map((p) => p.job)));
      for (const { job } of page) {
        if (!missing.has(job.id)) continue;
        await this.d.queue.enqueue(job, { priority: job.priority });
        restored++;
      }
      if (page.length < 500) break;
    }
    const expired = await this.d.queue.requeueExpired();
    if (restored || expired.length) {
      this.d.log?.('warn', 'queue reconciled', { enqueued: restored, expiredLeases: expired.map((j) => j.id) });
      this.d.onRequeued?.();
    }
    return restored;
  }

  start(everyMs = 30_000): this {
    this.periodic.start(everyMs);
    return this;
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }
}
