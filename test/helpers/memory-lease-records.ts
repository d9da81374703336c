import { randomUUID } from 'node:crypto';
import type { Job, JobError, JobOutput } from '../../src/core/job.types.js';
import type { ClaimOutcome, LeaseRecords } from '../../src/core/ports/lease-records.port.js';
import type { FinishOutcome, HeartbeatAnswer, Lease, LeasedJob } from '../../src/core/ports/queue.port.js';

/**
 * LeaseRecords held in memory, following the port's contract (one guarded step per call, as the
 * PostgreSQL transactions are). For testing the BullMQ adapter's delivery side while the records
 * live in one test process; the same tests run against PostgreSQL through their factory.
 */
interface Row {
  job: Job;
  runAt: number;
  owner: string | null;
  token: string | null;
  expires: number;
  solo: boolean;
}

const CANCELED: JobError = { code: 'JOB_CANCELED', message: 'The job was canceled' };
const CRASHED: JobError = { code: 'WORKER_CRASHED', message: 'The worker running the job stopped unexpectedly' };

export class MemoryLeaseRecords implements LeaseRecords {
  private readonly rows = new Map<string, Row>();

  /** A queued record, as JobStore.create makes it. */
  create(spec: { id: string; processor: string; priority?: number; maxAttempts?: number }): Job {
    const now = new Date().toISOString();
    const job: Job = {
      id: spec.id, processor: spec.processor, processorVersion: '1', params: {}, input: { kind: 'url', url: 'http://127.0.0.1/' },
      status: 'queued', progress: 0, stage: null, priority: spec.priority ?? 0, attempts: 0, maxAttempts: spec.maxAttempts ?? 3,
      error: null, result: null, outputs: [], dedupKey: null, idempotencyKey: null, meta: {}, webhook: null, upstream: null,
      cancelRequested: false, createdAt: now, updatedAt: now, startedAt: null, finishedAt: null,
    };
    this.rows.set(job.id, { job, runAt: Date.now(), owner: null, token: null, expires: 0, solo: false });
    return structuredClone(job);
  }

  /** As JobStore.requestCancel: queued → canceled at once, running → flagged. */
  cancel(id: string): void {
    const r = this.rows.get(id);
    if (!r) return;
    if (r.job.status === 'queued') this.end(r, 'canceled', CANCELED);
    else if (r.job.status === 'running') r.job.cancelRequested = true;
  }

  get(id: string): Job | null {
    const r = this.rows.get(id);
    return r ? structuredClone(r.job) : null;
  }

  private held(lease: Lease): Row | null {
    const r = this.rows.get(lease.jobId);
    return r && r.job.status === 'running' && r.token === lease.token ? r : null;
  }

  private end(r: Row, status: 'succeeded' | 'failed' | 'canceled', error: JobError | null, result: unknown = null): void {
    Object.assign(r.job, { status, error, result, finishedAt: new Date().toISOString() });
    if (status === 'succeeded') r.job.progress = 1;
    r.owner = r.token = null;
  }

  private requeue(r: Row, runAt: number, error: JobError | null = r.job.error): void {
    Object.assign(r.job, { status: 'queued', error });
    r.runAt = runAt;
    r.owner = r.token = null;
  }

  private count(status: Job['status']): Record<string, number> {
    const out: Record<string, number> = {};
    for (const r of this.rows.values()) if (r.job.status === status) out[r.job.processor] = (out[r.job.processor] ?? 0) + 1;
    return out;
  }

  async claim(jobIds: string[], processor: string, workerId: string, leaseMs: number, limit: number): Promise<ClaimOutcome> {
    let free = limit - (this.count('running')[processor] ?? 0);
    const due = jobIds.map((id) => this.rows.get(id))
      .filter((r): r is NonNullable<typeof r> => !!r && r.job.processor === processor && r.job.status === 'queued' && r.runAt <= Date.now())
      .sort((a, b) => b.job.priority - a.job.priority);
    const out: LeasedJob[] = [];
    for (const r of due) {
      if (free-- <= 0) break;
      r.token = randomUUID();
      r.owner = workerId;
      r.expires = Date.now() + leaseMs;
      Object.assign(r.job, { status: 'running', attempts: r.job.attempts + 1, progress: 0, stage: null, startedAt: r.job.startedAt ?? new Date().toISOString() });
      out.push({ job: structuredClone(r.job), lease: { jobId: r.job.id, workerId, token: r.token }, solo: r.solo });
    }
    const unclaimed = jobIds.map((id) => this.rows.get(id)).filter((r): r is NonNullable<typeof r> => !!r && r.job.status === 'queued')
      .map((r) => ({ id: r.job.id, runAt: r.runAt }));
    return { leased: out, unclaimed };
  }

  async release(lease: Lease): Promise<boolean> {
    const r = this.held(lease);
    if (!r) return false;
    r.job.attempts = Math.max(0, r.job.attempts - 1);
    this.requeue(r, Date.now());
    return true;
  }

  async renew(leases: Lease[], leaseMs: number): Promise<HeartbeatAnswer> {
    const answer: HeartbeatAnswer = { cancel: [], lost: [] };
    for (const l of leases) {
      const r = this.held(l);
      if (!r) { answer.lost.push(l.jobId); continue; }
      r.expires = Date.now() + leaseMs;
      if (r.job.cancelRequested) answer.cancel.push(l.jobId);
    }
    return answer;
  }

  async progress(lease: Lease, progress: number, stage: string | null): Promise<boolean> {
    const r = this.held(lease);
    if (r) Object.assign(r.job, { progress, stage });
    return !!r;
  }

  async output(lease: Lease, output: JobOutput): Promise<boolean> {
    const r = this.held(lease);
    if (r) r.job.outputs = [...r.job.outputs.filter((o) => o.name !== output.name), output];
    return !!r;
  }

  async log(lease: Lease): Promise<boolean> {
    return !!this.held(lease);
  }

  async complete(lease: Lease, result: unknown): Promise<FinishOutcome> {
    const r = this.held(lease);
    if (!r) return { applied: false, job: null };
    this.end(r, 'succeeded', null, result);
    return { applied: true, job: structuredClone(r.job) };
  }

  async fail(lease: Lease, error: JobError, retry: boolean, backoffMs: number): Promise<FinishOutcome> {
    const r = this.held(lease);
    if (!r) return { applied: false, job: null };
    if (retry && !r.job.cancelRequested && r.job.attempts < r.job.maxAttempts) {
      const retryAt = Date.now() + backoffMs * 2 ** (r.job.attempts - 1);
      this.requeue(r, retryAt, error);
      return { applied: true, job: structuredClone(r.job), retryAt };
    }
    this.end(r, 'failed', error);
    return { applied: true, job: structuredClone(r.job) };
  }

  async canceled(lease: Lease): Promise<FinishOutcome> {
    const r = this.held(lease);
    if (!r) return { applied: false, job: null };
    this.end(r, 'canceled', CANCELED);
    return { applied: true, job: structuredClone(r.job) };
  }

  /** A holder that vanished: canceled if asked, failed when out of attempts, else queued after a backoff. */
  private recover(r: Row, charged: boolean): { job: Job; retryAt: number | null } {
    if (!charged) r.job.attempts = Math.max(0, r.job.attempts - 1);
    if (r.job.cancelRequested) this.end(r, 'canceled', CANCELED);
    else if (r.job.attempts >= r.job.maxAttempts) this.end(r, 'failed', CRASHED);
    else {
      const retryAt = Date.now() + (charged ? 200 * 2 ** Math.max(0, r.job.attempts - 1) : 0);
      this.requeue(r, retryAt);
      return { job: structuredClone(r.job), retryAt };
    }
    return { job: structuredClone(r.job), retryAt: null };
  }

  async requeueExpired(): Promise<Array<{ job: Job; retryAt: number | null }>> {
    const now = Date.now();
    return [...this.rows.values()].filter((r) => r.job.status === 'running' && r.expires < now).map((r) => this.recover(r, true));
  }

  async releaseWorker(workerId: string, crashed: boolean): Promise<Array<{ job: Job; retryAt: number | null }>> {
    const mine = [...this.rows.values()].filter((r) => r.job.status === 'running' && r.owner === workerId);
    // After a crash, a job that ran alone is the culprit; jobs that ran beside others run alone next.
    const alone = mine.length === 1;
    return mine.map((r) => {
      if (crashed && !alone) r.solo = true;
      return this.recover(r, crashed && alone);
    });
  }

  async running(): Promise<Record<string, number>> {
    return this.count('running');
  }

  async queued(): Promise<Record<string, number>> {
    return this.count('queued');
  }
}
