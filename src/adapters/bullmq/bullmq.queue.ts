import { randomUUID } from 'node:crypto';
import { Queue as BullQueue, Worker as BullWorker, type Job as BullJob } from 'bullmq';
import type { Job, JobError, JobOutput } from '../../core/job.types.js';
import type { Unsubscribe } from '../../core/ports/event-log.port.js';
import type { LeaseRecords } from '../../core/ports/lease-records.port.js';
import type { EnqueueOptions, FinishOutcome, HeartbeatAnswer, Lease, LeasedJob, LeaseOptions, Queue } from '../../core/ports/queue.port.js';
import { SignalChannel } from './bullmq.signal-channel.js';
import { RedisLink, isUnavailable } from './bullmq.connection.js';
import { toBullPriority } from './bullmq.priority.js';

/** A solo job a busy worker gave back waits this long before BullMQ offers it again. */
const SOLO_WAIT_MS = 1000;
/**
 * Added to the delay of a job PostgreSQL queued for a later time. The due time comes from one
 * clock and BullMQ's delay from another (each node's); a job delivered a moment early is refused
 * by the claim and delayed again, which this margin makes rare.
 */
const DUE_SLACK_MS = 250;

export interface BullmqQueueOptions {
  /** redis://host:port[/db] */
  url: string;
  /** BullMQ key prefix (config `redis.prefix`): keys are `<prefix>:<processor>:…`. */
  prefix: string;
  /** The lease side, in PostgreSQL. */
  records: LeaseRecords;
  /** A Redis operation unanswered after this long fails with QUEUE_UNAVAILABLE. */
  opTimeoutMs?: number;
}

type Delivery = BullJob<string, unknown, string>;

/**
 * The distributed queue: BullMQ on Redis delivers job ids, PostgreSQL (`LeaseRecords`) decides.
 *
 * One BullMQ queue per processor; a BullMQ job's id is the Mediaflow job id and its data is that id
 * alone. A job stays in BullMQ only while it is queued: the moment PostgreSQL grants a lease the
 * BullMQ job is finished and removed, so the lease, its expiry, the attempts and every write live
 * in one place. BullMQ's own lock and stalled-job checker then guard only the few milliseconds
 * between taking a job from Redis and claiming it in PostgreSQL; they never race the lease expiry.
 * Redis holds nothing PostgreSQL cannot rebuild: after Redis lost its keys, `missing()` names the
 * queued jobs it forgot and the reconciler enqueues them again.
 *
 * Per-processor concurrency is the claim's: PostgreSQL counts running jobs and grants a lease only
 * under the limit, in one transaction, across all workers (and still right after Redis lost every
 * key, when a BullMQ global-concurrency counter would start again from zero).
 */
export class BullmqQueue implements Queue {
  private readonly link: RedisLink;
  private readonly records: LeaseRecords;
  private readonly prefix: string;
  private readonly queues = new Map<string, BullQueue<string, unknown, string>>();
  private readonly workers = new Map<string, BullWorker<string, unknown, string>>();
  private readonly cancels: SignalChannel;
  private readonly work: SignalChannel;
  /** Jobs leased through this instance: cancel signals are passed on for these only. */
  private readonly held = new Set<string>();
  /** Rotates which processor is served first, so a small `max` does not starve the later ones. */
  private turn = 0;

  constructor(opts: BullmqQueueOptions) {
    this.link = new RedisLink({ url: opts.url, opTimeoutMs: opts.opTimeoutMs });
    this.records = opts.records;
    this.prefix = opts.prefix;
    this.cancels = new SignalChannel(this.link, `${opts.prefix}:cancel`);
    this.work = new SignalChannel(this.link, `${opts.prefix}:work`);
  }

  /** Resolves once Redis answered the first time (QUEUE_UNAVAILABLE after the timeout). */
  async ready(timeoutMs?: number): Promise<void> {
    await this.link.waitReady(timeoutMs);
  }

  /** Redis is back after a loss (it may have restarted empty): time to reconcile. */
  onReconnect(listener: () => void): Unsubscribe {
    const off = this.link.onReconnect(listener);
    return () => { off(); };
  }

  private queue(processor: string): BullQueue<string, unknown, string> {
    let q = this.queues.get(processor);
    if (!q) {
      q = new BullQueue<string, unknown, string>(processor, { connection: this.link.client, prefix: this.prefix });
      q.on('error', () => {}); // reported through the operations
      this.queues.set(processor, q);
    }
    return q;
  }

  /**
   * BullMQ's manual-processing worker (no processor function, `getNextJob`), created on the first
   * lease of a processor. Its stalled-job checker runs so that a job taken from Redis by a process
   * that died before claiming it goes back to waiting.
   */
  private worker(processor: string): BullWorker<string, unknown, string> {
    let w = this.workers.get(processor);
    if (!w) {
      w = new BullWorker<string, unknown, string>(processor, null, { connection: this.link.client, prefix: this.prefix, autorun: false });
      w.on('error', () => {});
      void w.startStalledCheckTimer().catch(() => {});
      this.workers.set(processor, w);
    }
    return w;
  }

  private async add(processor: string, jobId: string, priority: number, delayMs: number) {
    const added = await this.queue(processor).add(processor, jobId, {
      jobId,
      priority: toBullPriority(priority),
      delay: Math.max(0, Math.round(delayMs)),
      // Attempts are counted in PostgreSQL; BullMQ never retries on its own.
      attempts: 1,
      removeOnComplete: true,
      removeOnFail: true,
    });
    // Idle workers hear of it at once (best effort: they also poll).
    if (delayMs <= 0) this.work.publish(processor).catch(() => {});
    return added;
  }

  /** Adding a job id BullMQ already holds changes nothing: enqueue is idempotent. */
  async enqueue(job: Pick<Job, 'id' | 'processor' | 'priority'>, opts: EnqueueOptions = {}): Promise<void> {
    await this.link.guard('enqueue', () => this.add(job.processor, job.id, opts.priority ?? job.priority, opts.delayMs ?? 0));
  }

  /**
   * QUEUE_UNAVAILABLE while Redis is away; the caller may ignore it: a queue entry left behind is
   * harmless, PostgreSQL refuses the claim when it is delivered and it is dropped then.
   */
  async remove(jobId: string, processor: string): Promise<void> {
    await this.link.guard('remove', () => this.queue(processor).remove(jobId));
  }

  /** A job BullMQ holds has its hash (finished jobs are removed at once): one EXISTS each, pipelined. */
  async missing(jobs: Array<Pick<Job, 'id' | 'processor'>>): Promise<string[]> {
    if (jobs.length === 0) return [];
    return this.link.guard('missing', async () => {
      const pipe = this.link.client.pipeline();
      for (const j of jobs) pipe.exists(this.queue(j.processor).toKey(j.id));
      const replies = (await pipe.exec()) ?? [];
      return jobs.filter((_, i) => {
        const [err, n] = replies[i] ?? [new Error('no reply'), 0];
        if (err) throw err;
        return n === 0;
      }).map((j) => j.id);
    });
  }

  async lease(opts: LeaseOptions): Promise<LeasedJob[]> {
    const names = Object.keys(opts.limits);
    if (names.length === 0 || opts.max <= 0) return [];
    const taken: LeasedJob[] = [];
    // BullMQ entries are settled in the background, together at the end: the next fetch need not
    // wait for them (a leftover entry is harmless, see `settle`).
    const settling: Array<Promise<unknown>> = [];
    try {
      const running = await this.records.running();
      const start = this.turn++ % names.length;
      for (let k = 0; k < names.length && taken.length < opts.max; k++) {
        const processor = names[(start + k) % names.length]!;
        const limit = opts.limits[processor]!;
        // Only as many as the processor has free slots: a job taken from Redis is in flight until
        // claimed, and a full processor should not pull its jobs out of the queue.
        let free = limit - (running[processor] ?? 0);
        while (free > 0 && taken.length < opts.max) {
          const want = Math.min(free, opts.max - taken.length);
          let batch: Array<{ delivery: Delivery; token: string }>;
          try {
            batch = await this.fetch(processor, want);
          } catch (err) {
            // Leases already granted in PostgreSQL are this worker's whatever Redis does next.
            if (taken.length > 0) return taken;
            throw err;
          }
          if (batch.length === 0) break;
          const got = await this.claimBatch(batch, processor, limit, opts, taken, settling);
          free -= got.taken;
          // A solo job runs alone: nothing more for this worker until it ends.
          if (got.full || batch.length < want || taken.at(-1)?.solo) break;
        }
        if (taken.at(-1)?.solo) break;
      }
      return taken;
    } finally {
      await Promise.allSettled(settling);
    }
  }

  /** Takes up to `want` jobs from BullMQ at once (each atomically, in priority order), each under its own lock token. */
  private async fetch(processor: string, want: number): Promise<Array<{ delivery: Delivery; token: string }>> {
    const worker = this.worker(processor);
    const got = await this.link.guard('lease', () => Promise.all(Array.from({ length: want }, async () => {
      const token = randomUUID();
      const delivery = (await worker.getNextJob(token, { block: false })) as Delivery | undefined;
      return delivery?.id ? { delivery, token } : null;
    })));
    return got.filter((d) => d !== null);
  }

  /**
   * Claims a batch of delivered jobs in PostgreSQL (one transaction) and settles their BullMQ
   * entries accordingly: claimed ones are finished in BullMQ; ones still queued but not taken go
   * back (to the front of their priority, or delayed until due); the rest are dropped (canceled,
   * deleted, or already running elsewhere: a duplicate delivery).
   */
  private async claimBatch(batch: Array<{ delivery: Delivery; token: string }>, processor: string, limit: number, opts: LeaseOptions,
    taken: LeasedJob[], settling: Array<Promise<unknown>>): Promise<{ taken: number; full: boolean }> {
    if (taken.at(-1)?.solo) {
      for (const { delivery, token } of batch) settling.push(delivery.moveToWait(token));
      return { taken: 0, full: false };
    }
    const claimed = await this.records.claim(batch.map((b) => b.delivery.id!), processor, opts.workerId, opts.leaseMs, limit);
    const byId = new Map(claimed.leased.map((l) => [l.job.id, l]));
    const waiting = new Map(claimed.unclaimed.map((u) => [u.id, u.runAt]));
    const now = Date.now();
    let full = false;
    let count = 0;
    for (const { delivery, token } of batch) {
      const l = byId.get(delivery.id!);
      if (!l) {
        const runAt = waiting.get(delivery.id!);
        if (runAt === undefined) settling.push(this.settle(delivery, token));
        else if (runAt > now) settling.push(delivery.moveToDelayed(runAt + DUE_SLACK_MS, token));
        else {
          full = true; // due and queued, yet not taken: the processor is at its limit
          settling.push(delivery.moveToWait(token));
        }
        continue;
      }
      if (l.solo && (opts.busy > 0 || taken.length > 0)) {
        // A solo job needs an idle worker: the claim cannot know this worker's load, so the lease
        // is handed back unspent, for an idle worker to take.
        await this.records.release(l.lease);
        settling.push(delivery.moveToDelayed(Date.now() + SOLO_WAIT_MS, token));
        continue;
      }
      if (taken.at(-1)?.solo) {
        // Nothing joins a solo job: handed back unspent, to the front of its priority.
        await this.records.release(l.lease);
        settling.push(delivery.moveToWait(token));
        continue;
      }
      this.held.add(l.job.id);
      taken.push(l);
      count++;
      settling.push(this.settle(delivery, token));
    }
    return { taken: count, full };
  }

  /**
   * Finishes (and thereby removes) a delivered BullMQ job. Every settling of an entry is best
   * effort: one left behind in BullMQ's active list is offered again by BullMQ's stalled checker,
   * and dropped when PostgreSQL refuses it.
   */
  private settle(delivery: Delivery, token: string): Promise<unknown> {
    return delivery.moveToCompleted(null, token, false);
  }

  /** PostgreSQL only: heartbeats go on while Redis is away. */
  async heartbeat(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer> {
    const answer = await this.records.renew(leases, leaseMs);
    for (const id of answer.lost) this.held.delete(id);
    return answer;
  }

  progress(lease: Lease, progress: number, stage: string | null): Promise<boolean> {
    return this.records.progress(lease, progress, stage);
  }

  output(lease: Lease, output: JobOutput): Promise<boolean> {
    return this.records.output(lease, output);
  }

  log(lease: Lease, level: string, message: string): Promise<boolean> {
    return this.records.log(lease, level, message);
  }

  async complete(lease: Lease, result: unknown): Promise<FinishOutcome> {
    this.held.delete(lease.jobId);
    const out = await this.records.complete(lease, result);
    // Chained jobs released by this success: queued in PostgreSQL already, delivered from now on.
    if (out.released?.length) await this.requeue(out.released.map((job) => ({ job, retryAt: null })));
    return out;
  }

  async fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome> {
    this.held.delete(lease.jobId);
    const out = await this.records.fail(lease, error, retry, backoffMs);
    if (out.applied && out.job?.status === 'queued' && out.retryAt !== undefined) await this.requeue([{ job: out.job, retryAt: out.retryAt }]);
    return out;
  }

  async canceled(lease: Lease): Promise<FinishOutcome> {
    this.held.delete(lease.jobId);
    return this.records.canceled(lease);
  }

  async requeueExpired(): Promise<Job[]> {
    const rows = await this.records.requeueExpired();
    await this.requeue(rows);
    return rows.map((r) => r.job);
  }

  async releaseWorker(workerId: string, opts: { crashed?: boolean } = {}): Promise<Job[]> {
    const rows = await this.records.releaseWorker(workerId, opts.crashed ?? true);
    await this.requeue(rows);
    return rows.map((r) => r.job);
  }

  /**
   * Puts jobs PostgreSQL queued again back into BullMQ, delayed until they are due. The record is
   * already written, so a Redis failure here is not the caller's: the reconciler finds these jobs
   * missing and enqueues them once Redis answers.
   */
  private async requeue(rows: Array<{ job: Job; retryAt: number | null }>): Promise<void> {
    // Whatever this process held among them is not its own any more.
    for (const r of rows) this.held.delete(r.job.id);
    const due = rows.filter((r) => r.job.status === 'queued');
    if (due.length === 0) return;
    await this.link.guard('requeue', () => Promise.all(due.map((r) =>
      this.add(r.job.processor, r.job.id, r.job.priority, r.retryAt === null ? 0 : Math.max(0, r.retryAt - Date.now()) + DUE_SLACK_MS)))).catch((err) => {
      if (!isUnavailable(err)) throw err;
    });
  }

  /**
   * QUEUE_UNAVAILABLE while Redis is away; the caller may ignore it: the job's cancel_requested
   * flag in PostgreSQL reaches the worker with its next heartbeat.
   */
  async signalCancel(jobId: string): Promise<void> {
    await this.cancels.publish(jobId);
  }

  onCancel(listener: (jobId: string) => void): Unsubscribe {
    return this.cancels.subscribe((jobId) => {
      if (this.held.has(jobId)) listener(jobId);
    });
  }

  /** A job of `processor` was enqueued somewhere in the cluster. */
  onWork(listener: (processor: string) => void): Unsubscribe {
    return this.work.subscribe(listener);
  }

  /** From PostgreSQL, the record of what is queued (Redis may have just forgotten some of it). */
  depth(): Promise<Record<string, number>> {
    return this.records.queued();
  }

  async ping(): Promise<void> {
    await this.link.guard('ping', () => this.link.client.ping());
  }

  async close(): Promise<void> {
    this.cancels.close();
    this.work.close();
    // `force`: these workers run no processor, there is nothing to wait for.
    await Promise.allSettled([...this.workers.values()].map((w) => w.close(true)));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.workers.clear();
    this.queues.clear();
    this.link.close();
  }
}
