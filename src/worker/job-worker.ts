import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { AppConfig } from '../config/config.schema.js';
import { InputError, MediaflowError, toMediaflowError } from '../core/errors.js';
import type { Job } from '../core/job.types.js';
import type { JobInput, ProcessorDefinition } from '../core/processor.types.js';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import type { FinishOutcome, Lease, LeasedJob, Queue } from '../core/ports/queue.port.js';
import type { WorkerRegistry } from '../core/ports/worker-registry.port.js';
import type { Scratch } from '../core/scratch.js';
import { createJobContext, type WorkerJobContext } from './job-context.js';
import { serialRunner } from '../util/serial-runner.js';

export type WorkerLog = (level: string, message: string, extra?: Record<string, unknown>) => void;

export interface JobWorkerDeps {
  config: AppConfig;
  /** The processors this worker runs (already narrowed by `--only`). */
  processors: ProcessorDefinition<any, any>[];
  queue: Queue;
  blobs: BlobStore;
  scratch: Scratch;
  /** Where the worker reports itself (GET /v1/workers); optional for embedded tests. */
  registry?: WorkerRegistry;
  log?: WorkerLog;
}

interface Running {
  job: Job;
  lease: Lease;
  solo: boolean;
  controller: AbortController;
  canceled: boolean;
  lost: boolean;
  done: Promise<void>;
}

/** After a store or queue error, the worker waits this long (doubling, capped) before leasing again. */
const ERROR_BACKOFF_MS = [250, 500, 1000, 2000, 5000];

/** The effective global concurrency of each processor: config override, else the processor's policy. */
export function concurrencyLimits(config: AppConfig, processors: ProcessorDefinition<any, any>[]): Record<string, number> {
  return Object.fromEntries(processors.map((p) => [p.name, config.concurrency[p.name] ?? p.policy.concurrency]));
}

/** Leases lost by this process's workers (a frozen worker resumed after another took its job). */
export const leaseLostCount = { value: 0 };

/**
 * Leases jobs and runs their processors in this process, with heartbeats, timeouts and
 * cancellation. Heavy processors keep their own compute off this event loop (native threads in
 * onnxruntime/sharp/tesseract, or worker threads), so heartbeats keep flowing. Every write goes
 * through the queue under the job's lease; a store error never takes the worker down — it backs
 * off and goes on, and the lease expiry hands an unfinished job to another worker.
 */
export class JobWorker {
  readonly id = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly processors: Map<string, ProcessorDefinition<any, any>>;
  private readonly limits: Record<string, number>;
  private readonly running = new Map<string, Running>();
  private readonly maxInFlight: number;
  private stopping = false;
  private pollTimer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  /** One lease round at a time; a wake-up during one asks for another. */
  private readonly ticker = serialRunner(() => this.tick());
  private errors = 0;
  private pausedUntil = 0;
  private stopCancel: (() => void) | null = null;
  private stopWork: (() => void) | null = null;
  private readonly startedAt = new Date().toISOString();

  constructor(private readonly d: JobWorkerDeps) {
    this.processors = new Map(d.processors.map((p) => [p.name, p]));
    this.limits = concurrencyLimits(d.config, d.processors);
    this.maxInFlight = Math.max(1, Object.values(this.limits).reduce((a, b) => a + b, 0));
  }

  start(): this {
    this.pollTimer = setInterval(() => this.wake(), this.d.config.workers.pollMs);
    this.heartbeatTimer = setInterval(() => void this.heartbeat(), this.d.config.workers.heartbeatMs);
    this.stopCancel = this.d.queue.onCancel((jobId) => this.cancel(jobId));
    this.stopWork = this.d.queue.onWork?.((processor) => { if (this.processors.has(processor)) this.wake(); }) ?? null;
    void this.report();
    this.wake();
    return this;
  }

  /** Reports this worker to the registry (at start and with every heartbeat). */
  private async report(): Promise<void> {
    await this.d.registry?.beat({
      id: this.id, node: os.hostname(), pid: process.pid, processors: [...this.processors.keys()],
      running: [...this.running.keys()], startedAt: this.startedAt,
    }).catch((err) => this.d.log?.('warn', 'worker report failed', { err: String(err) }));
  }

  /** Look for work now (called on a local submit, and after each job ends). */
  wake(): void {
    if (!this.stopping) this.ticker();
  }

  private storeError(what: string, err: unknown): void {
    this.errors++;
    const wait = ERROR_BACKOFF_MS[Math.min(this.errors - 1, ERROR_BACKOFF_MS.length - 1)]!;
    this.pausedUntil = Date.now() + wait;
    this.d.log?.('warn', `${what} failed; retrying in ${wait} ms`, { err: String(err) });
  }

  private async tick(): Promise<void> {
    if (this.stopping || Date.now() < this.pausedUntil) return;
    // A solo job (it ran beside a crash) runs alone until it ends.
    if ([...this.running.values()].some((r) => r.solo)) return;
    const free = this.maxInFlight - this.running.size;
    if (free <= 0) return;
    let leased: LeasedJob[];
    try {
      leased = await this.d.queue.lease({ workerId: this.id, limits: this.limits, max: free, busy: this.running.size, leaseMs: this.d.config.workers.leaseMs });
      this.errors = 0;
    } catch (err) {
      this.storeError('lease', err);
      return;
    }
    for (const l of leased) this.start1(l);
    // Every free slot was filled: more may be waiting, so look again.
    if (leased.length === free && !leased.some((l) => l.solo)) this.wake();
  }

  /** Cancel a job this worker runs (IPC from the API process, the queue's cancel signal, or a heartbeat's answer). */
  cancel(jobId: string): void {
    const r = this.running.get(jobId);
    if (r && !r.canceled) {
      r.canceled = true;
      r.controller.abort(new MediaflowError('JOB_CANCELED'));
    }
  }

  private leaseLost(r: Running): void {
    if (r.lost) return;
    r.lost = true;
    leaseLostCount.value++;
    this.d.log?.('warn', 'lease lost: another worker holds the job now; this attempt stops and writes nothing more', { jobId: r.job.id });
    r.controller.abort(new MediaflowError('LEASE_LOST'));
  }

  private async heartbeat(): Promise<void> {
    void this.report();
    const entries = [...this.running.values()];
    if (entries.length === 0) return;
    try {
      const answer = await this.d.queue.heartbeat(entries.map((r) => r.lease), this.d.config.workers.leaseMs);
      for (const id of answer.cancel) this.cancel(id);
      for (const id of answer.lost) {
        const r = this.running.get(id);
        if (r) this.leaseLost(r);
      }
    } catch (err) {
      this.d.log?.('warn', 'heartbeat failed', { err: String(err) });
    }
  }

  private start1(l: LeasedJob): void {
    const entry: Running = { job: l.job, lease: l.lease, solo: l.solo, controller: new AbortController(), canceled: l.job.cancelRequested, lost: false, done: Promise.resolve() };
    this.running.set(l.job.id, entry);
    entry.done = this.run(entry).finally(() => {
      this.running.delete(l.job.id);
      this.wake();
    });
  }

  /** Ends the attempt in the queue; a store error here is logged, and the lease expiry recovers the job. */
  private async finish(entry: Running, what: string, write: () => Promise<FinishOutcome>): Promise<boolean> {
    try {
      const r = await write();
      if (!r.applied) this.leaseLost(entry);
      return r.applied;
    } catch (err) {
      this.storeError(what, err);
      return false;
    }
  }

  private async run(entry: Running): Promise<void> {
    const { job, lease, controller } = entry;
    const processor = this.processors.get(job.processor);
    if (!processor) {
      await this.finish(entry, 'fail', () => this.d.queue.fail(lease, { code: 'PROCESSOR_UNKNOWN', message: `This worker has no processor ${job.processor}` }, false, 0));
      return;
    }
    if (entry.canceled) controller.abort(new MediaflowError('JOB_CANCELED'));
    const timeoutMs = processor.policy.timeoutMs;
    const timeout = setTimeout(() => controller.abort(new MediaflowError('JOB_TIMEOUT', `The job took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const ctx: WorkerJobContext = createJobContext({
      job, lease, config: this.d.config, queue: this.d.queue, blobs: this.d.blobs, scratch: this.d.scratch,
      signal: controller.signal, onLeaseLost: () => this.leaseLost(entry),
    });
    const started = Date.now();
    try {
      const result = await this.runProcessor(processor, job, ctx);
      // A processor that ignored the signal still does not "succeed" after a cancel or timeout.
      if (controller.signal.aborted) throw controller.signal.reason;
      await ctx.flush();
      if (await this.finish(entry, 'complete', () => this.d.queue.complete(lease, result ?? null))) {
        this.d.log?.('info', 'job succeeded', { jobId: job.id, processor: job.processor, ms: Date.now() - started });
      }
    } catch (raw) {
      await ctx.flush().catch(() => undefined);
      if (entry.lost) {
        // Another worker holds the job: nothing of this attempt may be written.
      } else if (this.stopping && !entry.canceled && controller.signal.aborted) {
        // Shutting down: releaseWorker() hands the job back to the queue.
      } else if (entry.canceled) {
        if (await this.finish(entry, 'cancel', () => this.d.queue.canceled(lease))) this.d.log?.('info', 'job canceled', { jobId: job.id });
      } else {
        const err = toMediaflowError(controller.signal.aborted ? controller.signal.reason : raw);
        if (await this.finish(entry, 'fail', () => this.d.queue.fail(lease, err.toJSON(), err.retryable, processor.policy.backoffMs))) {
          this.d.log?.(err.retryable ? 'warn' : 'info', 'job attempt failed', { jobId: job.id, code: err.code, message: err.message });
        }
      }
    } finally {
      clearTimeout(timeout);
      await ctx.dispose();
    }
  }

  /** Runs the processor with its input: a file input is handed over as a local path for the run. */
  private async runProcessor(processor: ProcessorDefinition<any, any>, job: Job, ctx: WorkerJobContext): Promise<unknown> {
    if (job.input.kind === 'url') return processor.run(ctx, { kind: 'url', url: job.input.url }, job.params);
    if (job.input.kind === 'job') throw new MediaflowError('INTERNAL', `job ${job.id} still waits for job ${job.input.job}`);
    const stored = job.input;
    // A chained input is checked here: its type was not known when the job was submitted.
    const accept = processor.input.kind === 'file' ? processor.input.accept : [];
    if (job.upstream && !accept.some((p) => p === '*' || p === stored.mime || (p.endsWith('/*') && stored.mime.startsWith(p.slice(0, -1))))) {
      throw new InputError('INPUT_UNSUPPORTED_TYPE', `${processor.name} does not accept ${stored.mime} (output ${job.upstream.output} of job ${job.upstream.job}); it accepts ${accept.join(', ')}`);
    }
    return this.d.blobs.withLocalFile(stored.sha256, ctx.tmpdir, (file) => {
      const input: JobInput = { kind: 'file', path: file, name: stored.name, mime: stored.mime, size: stored.size, sha256: stored.sha256 };
      return processor.run(ctx, input, job.params);
    });
  }

  get inFlight(): number {
    return this.running.size;
  }

  /**
   * Stops leasing. With `graceful`, waits up to `timeoutMs` for running jobs; whatever still runs is
   * then aborted and handed back to the queue without spending an attempt.
   */
  async stop(graceful = true, timeoutMs = 30_000): Promise<void> {
    this.stopping = true;
    if (this.pollTimer) clearInterval(this.pollTimer);
    this.stopCancel?.();
    this.stopWork?.();
    const settle = (ms: number) => Promise.race([
      Promise.all([...this.running.values()].map((r) => r.done)),
      new Promise((r) => setTimeout(r, ms).unref()),
    ]);
    if (graceful) await settle(timeoutMs);
    for (const r of this.running.values()) r.controller.abort(new MediaflowError('INTERNAL', 'worker shutting down'));
    // Aborted processors stop at their next check; give them a moment so nothing writes after we return.
    await settle(5_000);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    await this.d.queue.releaseWorker(this.id, { crashed: false }).catch(() => undefined);
    await this.d.registry?.remove(this.id).catch(() => undefined);
  }
}
