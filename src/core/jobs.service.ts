import { createHash, randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { BlobStore } from './ports/blob-store.port.js';
import type { AppConfig } from '../config/config.schema.js';
import type { EventBus } from './ports/event-bus.port.js';
import { mimeMatches, sniffMime } from '../media/sniff.js';
import type { FileInput, ProcessorDefinition } from './processor.types.js';
import { enabledProcessors, getProcessor } from '../processors/registry.js';
import type { JobStore } from './ports/job-store.port.js';
import { safeFileName } from '../util/safe-name.js';
import { InputError, MediaflowError } from './errors.js';
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

export interface JobServiceDeps {
  config: AppConfig;
  store: JobStore;
  blobs: BlobStore;
  events: EventBus;
  fetchUrl: UrlFetcher;
  checkUrl: UrlChecker;
  /** Called after a job is queued (wakes local workers at once). */
  onQueued?: (job: Job) => void;
  /** Called after a running job's cancel was requested (stops local workers at once). */
  onCancelRequested?: (job: Job) => void;
}

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
    return enabledProcessors(this.d.config.enableTestProcessors);
  }

  processor(name: string): ProcessorDefinition<any, any> {
    const p = getProcessor(name, this.d.config.enableTestProcessors);
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
    return sniffMime(await this.d.blobs.localPath(blob.sha256));
  }

  /** Drops a staged blob that no job ended up using. */
  async discard(blob: StagedBlob | null | undefined): Promise<void> {
    if (blob && !(await this.d.store.isBlobReferenced(blob.sha256))) await this.d.blobs.delete(blob.sha256);
  }

  async submit(req: SubmitRequest): Promise<SubmitResult> {
    let staged: StagedBlob | null = req.input.kind === 'staged' ? req.input.blob : null;
    try {
      const processor = this.processor(req.processor);
      const params = validateParams(processor, req.params);
      if (req.webhook) await checkWebhookUrl(req.webhook, this.d.config, this.d.checkUrl);
      let input: StoredInput;
      if (processor.input.kind === 'url') {
        if (req.input.kind !== 'url') throw new InputError('INPUT_MISSING', `${processor.name} takes a URL: send input.url`);
        await this.d.checkUrl(req.input.url, this.d.config);
        input = { kind: 'url', url: req.input.url };
      } else {
        if (req.input.kind === 'none') throw new InputError('INPUT_MISSING', `${processor.name} needs a file: upload one (field "file"), or send input.base64 or input.url`);
        if (req.input.kind === 'base64') staged = await this.stageBase64(req.input.data, req.input.name);
        if (req.input.kind === 'url') staged = await this.stageUrl(req.input.url, req.input.name);
        input = await this.checkFile(processor, staged!, params);
      }
      const inputId = input.kind === 'file' ? input.sha256 : `url:${input.url}`;
      const key = req.noDedup || input.kind === 'url' ? null : dedupKey(processor.name, processor.version, params, inputId);
      const fingerprint = createHash('sha256').update(canonicalJson({ p: processor.name, params, inputId, webhook: req.webhook ?? null, priority: req.priority ?? 0 })).digest('hex');
      const outcome = await this.d.store.create({
        id: randomUUID(),
        processor: processor.name,
        processorVersion: processor.version,
        params,
        input,
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
      if (outcome.created) this.d.onQueued?.(outcome.job);
      return outcome.created ? { job: outcome.job, created: true } : { job: outcome.job, created: false, reason: outcome.reason as 'dedup' | 'idempotency' };
    } catch (err) {
      await this.discard(staged).catch(() => undefined);
      throw err;
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
    const tmp = path.join(this.d.config.data, 'tmp', `fetch-${randomUUID()}`);
    try {
      const r = await this.d.fetchUrl(url, tmp, { config: this.d.config, maxBytes: this.maxBytes });
      const info = await this.d.blobs.putFile(tmp);
      return { ...info, name: safeFileName(name ?? r.fileName ?? new URL(url).pathname.split('/').pop(), 'download') };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  private async checkFile(processor: ProcessorDefinition<any, any>, blob: StagedBlob, params: Record<string, unknown>): Promise<StoredInput> {
    if (blob.size === 0) throw new InputError('INPUT_EMPTY', 'The uploaded file is empty');
    const file = await this.d.blobs.localPath(blob.sha256);
    const mime = await sniffMime(file);
    const accept = (processor.input as { accept: readonly string[] }).accept;
    if (!mimeMatches(mime, accept)) {
      throw new InputError('INPUT_UNSUPPORTED_TYPE', `${processor.name} does not accept ${mime === 'application/octet-stream' ? 'this file (its content is not a recognised media type)' : mime}; it accepts ${accept.join(', ')}`);
    }
    const input: FileInput = { kind: 'file', path: file, name: blob.name, mime, size: blob.size, sha256: blob.sha256 };
    await processor.validate?.(input, this.d.config, params);
    return { kind: 'file', sha256: blob.sha256, name: blob.name, mime, size: blob.size };
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
    const job = (await this.d.store.requestCancel(id)) ?? before;
    if (job.status === 'running') this.d.onCancelRequested?.(job);
    return job;
  }

  async retry(id: string): Promise<Job> {
    const before = await this.get(id);
    if (before.status !== 'failed' && before.status !== 'canceled') throw new MediaflowError('JOB_NOT_RETRYABLE', `Job ${id} is ${before.status}`);
    if (before.input.kind === 'file' && !(await this.d.blobs.stat(before.input.sha256))) {
      throw new MediaflowError('JOB_NOT_RETRYABLE', `The input of job ${id} is no longer stored`);
    }
    const job = (await this.d.store.retry(id)) ?? before;
    if (job.status === 'queued') this.d.onQueued?.(job);
    return job;
  }

  /** Deletes a job and every blob only it referenced. A running job is canceled first. */
  async delete(id: string): Promise<Job> {
    const job = await this.get(id);
    if (!isTerminal(job.status)) await this.cancel(id).catch(() => undefined);
    const removed = await this.d.store.delete(id);
    if (removed) await this.releaseBlobs(removed);
    return job;
  }

  private async releaseBlobs(job: Job): Promise<void> {
    const shas = new Set<string>(job.outputs.map((o) => o.sha256));
    if (job.input.kind === 'file') shas.add(job.input.sha256);
    for (const sha of shas) {
      if (!(await this.d.store.isBlobReferenced(sha))) await this.d.blobs.delete(sha);
    }
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

  /** Removes jobs that ended more than `retentionDays` ago, with their files. Returns how many. */
  async sweepRetention(now = new Date()): Promise<number> {
    const days = this.d.config.retentionDays;
    if (!days) return 0;
    const before = new Date(now.getTime() - days * 86_400_000);
    let removed = 0;
    for (;;) {
      const batch = await this.d.store.listEndedBefore(before, 100);
      for (const job of batch) {
        const gone = await this.d.store.delete(job.id);
        if (gone) {
          await this.releaseBlobs(gone);
          removed++;
        }
      }
      if (batch.length < 100) break;
    }
    await this.d.store.pruneEvents(new Date(now.getTime() - 3_600_000));
    return removed;
  }
}
