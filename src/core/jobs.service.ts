import { createHash, randomUUID } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AppConfig } from '../config/config.schema.js';
import { safeFileName } from '../util/safe-name.js';
import { InputError, MediaflowError } from './errors.js';
import type { FileInput, ProcessorDefinition } from './processor.types.js';
import type { BlobStore } from './ports/blob-store.port.js';
import type { EventLog } from './ports/event-log.port.js';
import type { JobStore } from './ports/job-store.port.js';
import type { Queue } from './ports/queue.port.js';
import type { Scratch } from './scratch.js';
import { isTerminal, type Job, type JobListFilter, type JobPage, type StoredInput } from './job.types.js';
import { canonicalJson, dedupKey, validateParams } from './params.js';
import { checkWebhookUrl } from './webhook-url.js';

/** Bytes already in the blob store, not yet attached to a job (an upload being submitted). */
export interface StagedBlob {
  sha256: string;
  size: number;
  name: string;
}

export type SubmitInput =
  | { kind: 'staged'; blob: StagedBlob }
  | { kind: 'base64'; data: string; name?: string }
  | { kind: 'url'; url: string; name?: string }
  /** Another job's named output (a chain). */
  | { kind: 'job'; job: string; output: string }
  | { kind: 'none' };

export interface SubmitRequest {
  processor: string;
  params?: unknown;
  input: SubmitInput;
  idempotencyKey?: string | null;
  webhook?: string | null;
  priority?: number;
  meta?: Record<string, unknown>;
  /** Skip dedup: always make a new job (compat routes whose seed always re-ran). */
  noDedup?: boolean;
  /** Internal (chains): a job input is stored as given, without looking at the upstream job first. */
  deferInputChecks?: boolean;
}

/** A stable UUID-shaped id from a string (a chain retried with the same Idempotency-Key). */
function uuidFrom(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export interface ChainStep {
  processor: string;
  params?: unknown;
  /** The output of the step before to take; default `*` (its first output). */
  output?: string;
}

export interface ChainRequest {
  input: SubmitInput;
  steps: ChainStep[];
  idempotencyKey?: string | null;
  /** Told when the last step ends. */
  webhook?: string | null;
  priority?: number;
}

export interface SubmitResult {
  job: Job;
  created: boolean;
  /** Why an existing job was returned. */
  reason?: 'dedup' | 'idempotency';
}

/** Fetches a URL input to a local file, with the SSRF policy (src/net). */
export type UrlFetcher = (url: string, dest: string, opts: { config: AppConfig; maxBytes: number; signal?: AbortSignal }) => Promise<{ fileName?: string }>;
/** Checks a URL against the SSRF policy without fetching it. */
export type UrlChecker = (url: string, config: AppConfig) => Promise<URL>;
/** The media type of a file by its content. */
export type MimeSniffer = (file: string) => Promise<string>;

export interface JobServiceDeps {
  config: AppConfig;
  /** The processors this server runs (the registry is above the core: it is handed in). */
  processors: ProcessorDefinition<any, any>[];
  store: JobStore;
  queue: Queue;
  blobs: BlobStore;
  events: EventLog;
  scratch: Scratch;
  fetchUrl: UrlFetcher;
  checkUrl: UrlChecker;
  sniffMime: MimeSniffer;
  /** True when `mime` is one of the accepted patterns. */
  mimeMatches: (mime: string, accept: readonly string[]) => boolean;
  /** Called after a job is queued (wakes local workers at once). */
  onQueued?: (job: Job) => void;
}

/** How long DELETE of a running job waits for its worker to stop. */
const DELETE_WAIT_MS = 15_000;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * The job service: the only place that decides what a submit, cancel, retry or delete means.
 * HTTP routes (v1 and compat), the CLI and tests call it; it talks only to ports.
 */
export class JobService {
  constructor(private readonly d: JobServiceDeps) {}

  get config(): AppConfig {
    return this.d.config;
  }

  processors(): ProcessorDefinition<any, any>[] {
    return this.d.processors;
  }

  processor(name: string): ProcessorDefinition<any, any> {
    const p = this.d.processors.find((x) => x.name === name);
    if (!p) throw new InputError('PROCESSOR_UNKNOWN', `Unknown processor ${JSON.stringify(name)}; known: ${this.processors().map((x) => x.name).join(', ')}`);
    return p;
  }

  private get maxBytes(): number {
    return Math.floor(this.d.config.uploadLimitMb * 1024 * 1024);
  }

  /** Streams an upload into the blob store (hashed on the way, limited, atomic). */
  async stage(stream: Readable, fileName: string | undefined): Promise<StagedBlob> {
    const info = await this.d.blobs.put(stream, { maxBytes: this.maxBytes });
    return { ...info, name: safeFileName(fileName, 'upload') };
  }

  /** The media type of a staged upload, by its content. */
  async mimeOf(blob: StagedBlob): Promise<string> {
    return this.withBlobFile(blob.sha256, (file) => this.d.sniffMime(file));
  }

  private async withBlobFile<T>(sha256: string, fn: (file: string) => Promise<T>): Promise<T> {
    const dir = await this.d.scratch.dir('blob');
    try {
      return await this.d.blobs.withLocalFile(sha256, dir, fn);
    } finally {
      await this.d.scratch.release(dir);
    }
  }

  /**
   * Creates the job record, then enqueues it (a chained job whose upstream job has not succeeded yet
   * waits instead: the store releases it with that success). A staged blob that no job ends up
   * using is left to the blob sweeper (deleting it here could race a submit of the same content).
   */
  async submit(req: SubmitRequest): Promise<SubmitResult> {
    const processor = this.processor(req.processor);
    const params = validateParams(processor, req.params);
    if (req.webhook) await checkWebhookUrl(req.webhook, this.d.config, this.d.checkUrl);
    const input = await this.storedInput(processor, req.input, params, req.deferInputChecks);
    const inputId = input.kind === 'file' ? input.sha256 : input.kind === 'url' ? `url:${input.url}` : `job:${input.job}/${input.output}`;
    const key = req.noDedup || input.kind === 'url' ? null : dedupKey(processor.name, processor.version, params, inputId);
    // Everything that changes what the job does or how it reports is part of the request's identity.
    const fingerprint = createHash('sha256').update(canonicalJson({ p: processor.name, params, inputId, webhook: req.webhook ?? null, priority: req.priority ?? 0 })).digest('hex');
    const outcome = await this.d.store.create({
      id: randomUUID(),
      processor: processor.name,
      processorVersion: processor.version,
      params,
      input,
      upstream: req.input.kind === 'job' ? { job: req.input.job, output: req.input.output } : null,
      priority: req.priority ?? 0,
      maxAttempts: processor.policy.attempts,
      dedupKey: key,
      idempotencyKey: req.idempotencyKey ?? null,
      requestFingerprint: fingerprint,
      meta: req.meta ?? {},
      webhook: req.webhook ?? null,
    });
    if (!outcome.created && outcome.reason === 'idempotency-conflict') {
      throw new InputError('IDEMPOTENCY_CONFLICT', 'This Idempotency-Key was already used for a different request', { details: { jobId: outcome.job.id } });
    }
    if (!outcome.created) return { job: outcome.job, created: false, reason: outcome.reason as 'dedup' | 'idempotency' };
    if (outcome.job.status === 'queued') await this.enqueue(outcome.job);
    return { job: outcome.job, created: true };
  }

  /** The input as the job will store it: checked against the processor, staged into the blob store. */
  private async storedInput(processor: ProcessorDefinition<any, any>, given: SubmitInput, params: Record<string, unknown>, deferChecks = false): Promise<StoredInput> {
    if (processor.input.kind === 'url') {
      if (given.kind !== 'url') throw new InputError('INPUT_MISSING', `${processor.name} takes a URL: send input.url`);
      await this.d.checkUrl(given.url, this.d.config);
      return { kind: 'url', url: given.url };
    }
    // A chain's later steps take a job made in the same request: the store decides (waiting, or its
    // output at once), and the worker checks the type, so no step fails after the ones before exist.
    if (given.kind === 'job') return deferChecks ? { kind: 'job', job: given.job, output: given.output } : this.chainedInput(processor, given, params);
    if (given.kind === 'none') throw new InputError('INPUT_MISSING', `${processor.name} needs a file: upload one (field "file"), or send input.base64, input.url or input.job`);
    const staged = given.kind === 'base64' ? await this.stageBase64(given.data, given.name)
      : given.kind === 'url' ? await this.stageUrl(given.url, given.name)
        : given.blob;
    return this.checkFile(processor, staged, params);
  }

  /**
   * Another job's output as the input. When that job has already succeeded the output is checked
   * like an upload; otherwise the new job waits (the store re-checks the upstream job atomically
   * with the create, so an upstream ending meanwhile is seen).
   */
  private async chainedInput(processor: ProcessorDefinition<any, any>, given: { job: string; output: string }, params: Record<string, unknown>): Promise<StoredInput> {
    const up = await this.d.store.get(given.job);
    if (!up) throw new InputError('UPSTREAM_UNKNOWN', `No job ${given.job} to take the input from`);
    if (up.status === 'failed' || up.status === 'canceled') throw new InputError('UPSTREAM_FAILED', `Job ${given.job} ${up.status === 'failed' ? 'failed' : 'was canceled'}: it has no output to hand on`);
    if (up.status !== 'succeeded') return { kind: 'job', job: given.job, output: given.output };
    const out = given.output === '*' ? up.outputs[0] : up.outputs.find((o) => o.name === given.output);
    if (!out) throw new InputError('UPSTREAM_OUTPUT_MISSING', `Job ${given.job} has no output ${JSON.stringify(given.output)}; it has ${up.outputs.map((o) => o.name).join(', ') || 'none'}`);
    return this.checkFile(processor, { sha256: out.sha256, size: out.size, name: out.name }, params);
  }

  /** The record is stored; a failed enqueue is repaired by the queue reconciler, so it is not the client's error. */
  private async enqueue(job: Job): Promise<void> {
    try {
      await this.d.queue.enqueue(job, { priority: job.priority });
      this.d.onQueued?.(job);
    } catch {
      // QueueReconciler re-enqueues queued records that the queue lacks.
    }
  }

  private async stageBase64(data: string, name?: string): Promise<StagedBlob> {
    // Accept data URLs ("data:image/png;base64,...") as well as bare base64 / base64url.
    let b64 = typeof data === 'string' ? data.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '') : '';
    if (!b64) throw new InputError('INPUT_EMPTY', 'The base64 input is empty');
    if (BASE64URL.test(b64) && !BASE64.test(b64)) b64 = b64.replace(/-/g, '+').replace(/_/g, '/');
    if (!BASE64.test(b64) || b64.length % 4 === 1) throw new InputError('INVALID_BASE64', 'The input is not valid base64');
    const buf = Buffer.from(b64, 'base64');
    if (buf.length > this.maxBytes) throw new InputError('INPUT_TOO_LARGE');
    const info = await this.d.blobs.put(buf, { maxBytes: this.maxBytes });
    return { ...info, name: safeFileName(name, 'upload') };
  }

  private async stageUrl(url: string, name?: string): Promise<StagedBlob> {
    const dir = await this.d.scratch.dir('fetch');
    try {
      const tmp = path.join(dir, 'body');
      const r = await this.d.fetchUrl(url, tmp, { config: this.d.config, maxBytes: this.maxBytes });
      const info = await this.d.blobs.putFile(tmp);
      return { ...info, name: safeFileName(name ?? r.fileName ?? new URL(url).pathname.split('/').pop(), 'download') };
    } finally {
      await this.d.scratch.release(dir);
    }
  }

  private async checkFile(processor: ProcessorDefinition<any, any>, blob: StagedBlob, params: Record<string, unknown>): Promise<StoredInput> {
    if (blob.size === 0) throw new InputError('INPUT_EMPTY', 'The uploaded file is empty');
    return this.withBlobFile(blob.sha256, async (file) => {
      const mime = await this.d.sniffMime(file);
      const accept = (processor.input as { accept: readonly string[] }).accept;
      if (!this.d.mimeMatches(mime, accept)) {
        throw new InputError('INPUT_UNSUPPORTED_TYPE', `${processor.name} does not accept ${mime === 'application/octet-stream' ? 'this file (its content is not a recognised media type)' : mime}; it accepts ${accept.join(', ')}`);
      }
      const input: FileInput = { kind: 'file', path: file, name: blob.name, mime, size: blob.size, sha256: blob.sha256 };
      await processor.validate?.(input, this.d.config, params);
      return { kind: 'file', sha256: blob.sha256, name: blob.name, mime, size: blob.size };
    });
  }

  async get(id: string): Promise<Job> {
    const job = await this.d.store.get(id);
    if (!job) throw new MediaflowError('JOB_NOT_FOUND', `No job ${id}`);
    return job;
  }

  async find(id: string): Promise<Job | null> {
    return this.d.store.get(id);
  }

  list(filter: JobListFilter): Promise<JobPage> {
    return this.d.store.list(filter);
  }

  async cancel(id: string): Promise<Job> {
    const before = await this.get(id);
    if (isTerminal(before.status)) throw new MediaflowError('JOB_NOT_CANCELABLE', `Job ${id} has already ended (${before.status})`);
    const outcome = await this.d.store.requestCancel(id);
    if (!outcome) throw new MediaflowError('JOB_NOT_FOUND', `No job ${id}`);
    if (outcome.canceled === 'now') await this.d.queue.remove(id, outcome.job.processor).catch(() => undefined);
    if (outcome.canceled === 'requested') await this.d.queue.signalCancel(id).catch(() => undefined);
    return outcome.job;
  }

  /** A failed or canceled job runs again; the outputs it had become unreferenced (the sweeper removes them). */
  async retry(id: string): Promise<Job> {
    const before = await this.get(id);
    if (before.status !== 'failed' && before.status !== 'canceled') throw new MediaflowError('JOB_NOT_RETRYABLE', `Job ${id} is ${before.status}`);
    if (before.input.kind === 'job') {
      throw new MediaflowError('JOB_NOT_RETRYABLE', `Job ${id} never got its input (job ${before.input.job} did not succeed): retry that job and submit this one again`);
    }
    if (before.input.kind === 'file' && !(await this.d.blobs.stat(before.input.sha256))) {
      throw new MediaflowError('JOB_NOT_RETRYABLE', `The input of job ${id} is no longer stored`);
    }
    const r = await this.d.store.retry(id);
    if (!r) return this.get(id);
    await this.enqueue(r.job);
    return r.job;
  }

  /**
   * Deletes a job. A running job is canceled first and deleted once its worker has stopped, so that
   * nothing it writes afterwards is left without a job; its files become unreferenced and go with
   * the next blob sweep.
   */
  async delete(id: string): Promise<Job> {
    let job = await this.get(id);
    if (!isTerminal(job.status)) {
      await this.cancel(id).catch((err) => { if ((err as MediaflowError).code !== 'JOB_NOT_CANCELABLE') throw err; });
      job = await this.waitFor(id, DELETE_WAIT_MS);
      if (!isTerminal(job.status)) throw new MediaflowError('JOB_STILL_STOPPING', `Job ${id} was asked to stop and is still running; try the delete again`);
    }
    const removed = await this.d.store.delete(id);
    if (!removed) throw new MediaflowError('JOB_NOT_FOUND', `No job ${id}`);
    return removed;
  }

  /** Resolves with the job once it has ended, or as it is after `timeoutMs`. */
  async waitFor(id: string, timeoutMs: number, signal?: AbortSignal): Promise<Job> {
    let unsubscribe = () => {};
    try {
      return await new Promise<Job>((resolve, reject) => {
        const timer = setTimeout(() => void this.get(id).then(resolve, reject), timeoutMs);
        const finish = () => { clearTimeout(timer); void this.get(id).then(resolve, reject); };
        unsubscribe = this.d.events.subscribe(id, (ev) => { if (ev.type === 'done') finish(); });
        signal?.addEventListener('abort', finish, { once: true });
        void this.get(id).then((job) => { if (isTerminal(job.status)) finish(); }, reject);
      });
    } finally {
      unsubscribe();
    }
  }

  /** The output's blob, for serving. */
  async output(id: string, name: string): Promise<{ job: Job; output: Job['outputs'][number] }> {
    const job = await this.get(id);
    const output = job.outputs.find((o) => o.name === name);
    if (!output) throw new MediaflowError('OUTPUT_NOT_FOUND', `Job ${id} has no output ${JSON.stringify(name)}`);
    return { job, output };
  }

  /** The job's input blob (for UIs showing the original next to the result). */
  async inputFile(id: string): Promise<{ job: Job; sha256: string; mime: string; name: string; size: number }> {
    const job = await this.get(id);
    if (job.input.kind !== 'file') throw new MediaflowError('OUTPUT_NOT_FOUND', `Job ${id} has no file input`);
    return { job, ...job.input };
  }

  /** Removes jobs that ended more than `retentionDays` ago (their files go with the blob sweep). Returns how many. */
  async sweepRetention(now = new Date()): Promise<number> {
    const days = this.d.config.retentionDays;
    let removed = 0;
    if (days) {
      const before = new Date(now.getTime() - days * 86_400_000);
      for (;;) {
        const batch = await this.d.store.listEndedBefore(before, 100);
        for (const job of batch) if (await this.d.store.delete(job.id)) removed++;
        if (batch.length < 100) break;
      }
    }
    await this.d.events.prune(new Date(now.getTime() - 3_600_000));
    return removed;
  }

  /**
   * A chain in one request: the first step takes `input`, each later step the named output of the
   * step before it (`*`: its first output). Every step is checked before any job is made; the jobs
   * carry `meta.chain` (the chain's id) and `meta.step`. Chain steps always make new jobs.
   */
  async submitChain(req: ChainRequest): Promise<{ id: string; jobs: Job[] }> {
    if (!Array.isArray(req.steps) || req.steps.length === 0 || req.steps.length > 10) throw new InputError('INVALID_REQUEST', 'A chain needs 1 to 10 steps');
    for (const [i, step] of req.steps.entries()) {
      if (!step || typeof step !== 'object' || typeof step.processor !== 'string' || (step.output !== undefined && typeof step.output !== 'string')) {
        throw new InputError('INVALID_REQUEST', `Step ${i + 1} must be {"processor": string, "params"?: object, "output"?: string}`);
      }
      const p = this.processor(step.processor);
      validateParams(p, step.params);
      if (i > 0 && p.input.kind !== 'file') throw new InputError('INVALID_REQUEST', `Step ${i + 1}: ${p.name} takes a URL, not the output of the step before`);
    }
    // Checked once, before any job exists: a refusal must not leave the first steps running.
    if (req.webhook) await checkWebhookUrl(req.webhook, this.d.config, this.d.checkUrl);
    // A retried request (same Idempotency-Key) gets the same chain id, so it finds its chain again.
    const id = req.idempotencyKey ? uuidFrom(`chain:${req.idempotencyKey}`) : randomUUID();
    const jobs: Job[] = [];
    for (const [i, step] of req.steps.entries()) {
      const prev = jobs[i - 1];
      const { job } = await this.submit({
        deferInputChecks: i > 0,
        processor: step.processor,
        params: step.params,
        input: prev ? { kind: 'job', job: prev.id, output: step.output ?? '*' } : req.input,
        idempotencyKey: req.idempotencyKey ? `${req.idempotencyKey}#${i}` : null,
        webhook: i === req.steps.length - 1 ? req.webhook ?? null : null,
        priority: req.priority,
        meta: { chain: id, step: i },
        noDedup: true,
      });
      jobs.push(job);
    }
    return { id, jobs };
  }

  /** The jobs of a chain, in step order. */
  async chain(id: string): Promise<Job[]> {
    const page = await this.d.store.list({ meta: { key: 'chain', value: id }, limit: 100 });
    if (page.items.length === 0) throw new MediaflowError('NOT_FOUND', `No chain ${id}`);
    return page.items.sort((a, b) => Number(a.meta.step) - Number(b.meta.step));
  }

  /** Submits and waits up to `waitMs` for the end (the compat routes' synchronous answers); aborts with the client. */
  async submitAndWait(req: SubmitRequest, waitMs: number, signal?: AbortSignal): Promise<Job> {
    const { job } = await this.submit(req);
    return this.waitFor(job.id, waitMs, signal);
  }
}
