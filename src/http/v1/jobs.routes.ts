import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { InputError, MediaflowError } from '../../core/errors.js';
import { isTerminal, JOB_STATUSES, type JobEvent, type JobStatus } from '../../core/job.types.js';
import type { JobService, SubmitInput, SubmitRequest } from '../../core/jobs.service.js';
import type { BlobStore } from '../../core/ports/blob-store.port.js';
import type { EventLog } from '../../core/ports/event-log.port.js';
import { readMultipart, parseJsonField } from '../multipart.js';
import { sendBlob } from '../serve-blob.js';
import { jobSummary, jobView } from './job.view.js';

const JobId = Type.Object({ id: Type.String({ description: 'Job id' }) });
const Problem = Type.Object({ type: Type.String(), title: Type.String(), status: Type.Integer(), code: Type.String(), detail: Type.String() }, { additionalProperties: true, description: 'application/problem+json (RFC 9457)' });
const JobSchema = Type.Object({
  id: Type.String(), processor: Type.String(), status: Type.Union(JOB_STATUSES.map((s) => Type.Literal(s))),
  progress: Type.Number(), stage: Type.Union([Type.String(), Type.Null()]), attempts: Type.Integer(),
  params: Type.Object({}, { additionalProperties: true }), result: Type.Unknown(),
  error: Type.Union([Type.Object({ code: Type.String(), message: Type.String() }), Type.Null()]),
  outputs: Type.Array(Type.Object({ name: Type.String(), size: Type.Integer(), mime: Type.String(), sha256: Type.String(), url: Type.String() })),
}, { additionalProperties: true });

const SubmitJson = Type.Object({
  processor: Type.String({ minLength: 1, description: 'Processor name, see GET /v1/processors' }),
  params: Type.Optional(Type.Object({}, { additionalProperties: true })),
  input: Type.Optional(Type.Object({
    base64: Type.Optional(Type.String({ description: 'File content, base64 (a data: URL is accepted too)' })),
    filename: Type.Optional(Type.String()),
    url: Type.Optional(Type.String({ description: 'http(s) URL: fetched for file processors, passed as is to URL processors' })),
    job: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Chain: another job whose output is this job\'s input; this job waits until that one succeeds' })),
    output: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'Chain: the name of that job\'s output (`*`: its first output)' })),
  }, { additionalProperties: false })),
  webhook: Type.Optional(Type.String({ description: 'POSTed the job when it ends (signed with X-Mediaflow-Signature)' })),
  priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100, description: 'Higher runs first (default 0)' })),
}, { additionalProperties: false });
const SubmitMultipart = Type.Unknown({ description: 'Fields: `processor`, `file`, `params` (JSON) and/or one field per param, `url`, `input_job` + `input_output` (a chain), `webhook`, `priority` (integer -100..100)' });

/** A chained input: both halves or neither. */
export function jobInputOf(job: string | undefined, output: string | undefined): SubmitInput | null {
  if (job === undefined && output === undefined) return null;
  if (!job || !output) throw new InputError('INVALID_REQUEST', 'A chained input needs both the job and the name of its output (`*` for its first output)');
  return { kind: 'job', job, output };
}

/** A multipart `priority` field: an integer from -100 to 100, as the JSON schema says. */
function priorityField(v: string | undefined): number {
  if (v === undefined || v.trim() === '') return 0;
  const n = /^\s*[-+]?\d{1,3}\s*$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < -100 || n > 100) throw new InputError('INVALID_REQUEST', `priority must be an integer from -100 to 100, not ${JSON.stringify(v.slice(0, 40))}`);
  return n;
}

export interface JobsRoutesDeps {
  jobs: JobService;
  blobs: BlobStore;
  events: EventLog;
}

/** Parses `Prefer: wait=N` (seconds, capped at 600). */
export function preferWait(request: FastifyRequest): number | null {
  const prefer = request.headers.prefer;
  const m = typeof prefer === 'string' ? /(?:^|[,;\s])wait=(\d+)/.exec(prefer) : null;
  return m ? Math.min(Number(m[1]), 600) : null;
}

function webhookOf(v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  try {
    const u = new URL(String(v));
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error();
    return u.toString();
  } catch {
    throw new InputError('WEBHOOK_URL_INVALID', 'webhook must be an http(s) URL', { details: { field: 'webhook', reason: 'URL_INVALID' } });
  }
}

export interface JsonInput { base64?: string; filename?: string; url?: string; job?: string; output?: string }

/** The input of a JSON submit: base64, a URL, or another job's output. */
export function jsonInput(i: JsonInput = {}): SubmitInput {
  const given = [i.base64 !== undefined, !!i.url, i.job !== undefined || i.output !== undefined].filter(Boolean).length;
  if (given > 1) throw new InputError('INVALID_REQUEST', 'Give one input: base64, url, or job + output');
  if (i.base64 !== undefined) return { kind: 'base64', data: i.base64, name: i.filename };
  if (i.url) return { kind: 'url', url: i.url, name: i.filename };
  return jobInputOf(i.job, i.output) ?? { kind: 'none' };
}

/** Builds the submit request from either a multipart upload or a JSON body. */
async function parseSubmit(request: FastifyRequest, jobs: JobService): Promise<SubmitRequest> {
  const idempotencyKey = (request.headers['idempotency-key'] as string | undefined)?.slice(0, 200) ?? null;
  if (request.isMultipart()) {
    // A staged upload that no job ends up using is left to the blob sweeper.
    const mp = await readMultipart(request, jobs, ['file']);
    const { processor, params, webhook, url, priority, input_job: inputJob, input_output: inputOutput, ...rest } = mp.fields;
    if (!processor) throw new InputError('INVALID_REQUEST', 'The form field "processor" is required');
    // Params may come as one JSON field `params` and/or as plain fields (`scale=4`).
    const merged = { ...rest, ...((parseJsonField(params, 'params') as object | undefined) ?? {}) };
    const chained = jobInputOf(inputJob, inputOutput);
    const input: SubmitInput = mp.file ? { kind: 'staged', blob: mp.file } : url ? { kind: 'url', url } : chained ?? { kind: 'none' };
    return { processor, params: merged, input, idempotencyKey, webhook: webhookOf(webhook), priority: priorityField(priority) };
  }
  const body = request.body as { processor?: string; params?: unknown; input?: JsonInput; webhook?: string; priority?: number } | undefined;
  if (!body || typeof body !== 'object' || !body.processor) throw new InputError('INVALID_REQUEST', 'Send multipart/form-data with a "file", or JSON {"processor", "params", "input": {"base64"|"url"|"job"+"output"}}');
  const input = jsonInput(body.input);
  return { processor: body.processor, params: body.params, input, idempotencyKey, webhook: webhookOf(body.webhook), priority: body.priority ?? 0 };
}

export async function jobsRoutes(app: FastifyInstance, d: JobsRoutesDeps) {
  const { jobs } = d;
  // A job's event stream lasts as long as the job: end open ones when the server closes, or a
  // graceful shutdown would wait for every running job.
  const openStreams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of openStreams) end();
  });

  app.post('/v1/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'Submit a job',
      description: 'multipart/form-data (fields `processor`, `file`, `params` as JSON and/or one field per param, `webhook`) or JSON. '
        + 'Identical submits (same processor version, params and input content) return the existing job. '
        + 'Headers: `Idempotency-Key` for safe client retries; `Prefer: wait=N` to get the finished job if it ends within N seconds.',
      consumes: ['multipart/form-data', 'application/json'],
      // Multipart fields are checked as they are read (parseSubmit); JSON and form bodies by schema.
      body: { content: { 'application/json': { schema: SubmitJson }, 'application/x-www-form-urlencoded': { schema: SubmitJson }, 'multipart/form-data': { schema: SubmitMultipart } } },
      headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String()), prefer: Type.Optional(Type.String()) }),
      response: { 200: JobSchema, 202: JobSchema, 400: Problem, 404: Problem, 413: Problem, 415: Problem },
    },
  }, async (request, reply) => {
    const req = await parseSubmit(request, jobs);
    const { job, created, reason } = await jobs.submit(req);
    const wait = preferWait(request);
    let current = job;
    if (wait !== null && !isTerminal(job.status)) {
      const ac = new AbortController();
      request.raw.once('close', () => ac.abort());
      current = await jobs.waitFor(job.id, wait * 1000, ac.signal);
      reply.header('Preference-Applied', `wait=${wait}`);
    }
    reply.header('Location', `/v1/jobs/${job.id}`);
    if (!created) reply.header('X-Mediaflow-Existing-Job', reason ?? 'dedup');
    return reply.status(isTerminal(current.status) ? 200 : 202).send(jobView(current));
  });

  app.get('/v1/jobs', {
    schema: {
      tags: ['jobs'],
      summary: 'List jobs, newest first (summaries: without `result` unless `include=result`)',
      querystring: Type.Object({
        status: Type.Optional(Type.String({ description: 'Comma-separated statuses' })),
        processor: Type.Optional(Type.String({ description: 'Comma-separated processor names' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
        cursor: Type.Optional(Type.String({ description: 'nextCursor of the previous page' })),
        include: Type.Optional(Type.Literal('result', { description: '`result`: each job with its full result (by default a list leaves it out)' })),
      }),
    },
  }, async (request) => {
    const q = request.query as { status?: string; processor?: string; limit?: number; cursor?: string; include?: 'result' };
    const status = q.status?.split(',').filter(Boolean);
    const bad = status?.find((s) => !(JOB_STATUSES as readonly string[]).includes(s));
    if (bad) throw new InputError('INVALID_REQUEST', `Unknown status ${JSON.stringify(bad)}; one of ${JOB_STATUSES.join(', ')}`);
    const page = await jobs.list({ status: status as JobStatus[] | undefined, processor: q.processor?.split(',').filter(Boolean), limit: q.limit ?? 50, cursor: q.cursor });
    return { items: page.items.map(q.include === 'result' ? jobView : jobSummary), nextCursor: page.nextCursor };
  });

  app.get('/v1/jobs/:id', { schema: { tags: ['jobs'], summary: 'Get a job', params: JobId, response: { 200: JobSchema, 404: Problem } } }, async (request) => {
    return jobView(await jobs.get((request.params as { id: string }).id));
  });

  app.post('/v1/jobs/:id/cancel', { schema: { tags: ['jobs'], summary: 'Cancel a queued or running job', params: JobId, response: { 200: JobSchema, 404: Problem, 409: Problem } } }, async (request) => {
    return jobView(await jobs.cancel((request.params as { id: string }).id));
  });

  app.post('/v1/jobs/:id/retry', { schema: { tags: ['jobs'], summary: 'Queue a failed or canceled job again', params: JobId, response: { 200: JobSchema, 404: Problem, 409: Problem } } }, async (request) => {
    return jobView(await jobs.retry((request.params as { id: string }).id));
  });

  app.delete('/v1/jobs/:id', { schema: { tags: ['jobs'], summary: 'Delete a job and its files (a running job is canceled first)', params: JobId, response: { 204: Type.Null(), 404: Problem } } }, async (request, reply) => {
    await jobs.delete((request.params as { id: string }).id);
    return reply.status(204).send();
  });

  app.get('/v1/jobs/:id/outputs/:name', {
    schema: {
      tags: ['jobs'], summary: 'Download an output (ETag, Range supported)',
      params: Type.Object({ id: Type.String(), name: Type.String() }),
      querystring: Type.Object({ download: Type.Optional(Type.Boolean()) }),
    },
  }, async (request, reply) => {
    const p = request.params as { id: string; name: string };
    const { output } = await jobs.output(p.id, p.name);
    return sendBlob(request, reply, d.blobs, output, { attachment: (request.query as { download?: boolean }).download === true, redirect: true });
  });

  app.get('/v1/jobs/:id/input', { schema: { tags: ['jobs'], summary: "Download the job's input file", params: JobId } }, async (request, reply) => {
    const f = await jobs.inputFile((request.params as { id: string }).id);
    return sendBlob(request, reply, d.blobs, f);
  });

  app.get('/v1/jobs/:id/events', {
    sse: { kind: 'only', heartbeat: true },
    schema: {
      tags: ['jobs'],
      summary: 'Server-Sent Events of a job',
      description: 'Events `status`, `progress`, `log`, `output`, and a final `done`, in order. The first event is a `status` snapshot of the job. The stream closes after `done`.',
      params: JobId,
    },
  } as never, async (request: FastifyRequest, reply: FastifyReply) => {
    const id = (request.params as { id: string }).id;
    const first = await jobs.get(id);
    await streamJobEvents(reply, d.events, jobs, first.id, openStreams);
  });
}

/**
 * Streams a job's events as SSE: subscribe first, then send a snapshot, so nothing falls in
 * between; ends after `done`.
 */
async function streamJobEvents(reply: FastifyReply, events: EventLog, jobs: JobService, id: string, open: Set<() => void>) {
  const queue: Array<{ ev: JobEvent; eventId: number }> = [];
  let wake: (() => void) | null = null;
  const unsubscribe = events.subscribe(id, (ev, eventId) => {
    queue.push({ ev, eventId });
    wake?.();
  });
  const sse = (reply as unknown as { sse: { send(m: unknown): Promise<void>; onClose(cb: () => void): void; keepAlive(): void; close(): void; isConnected: boolean } }).sse;
  let closed = false;
  const end = () => { closed = true; wake?.(); };
  sse.onClose(end);
  open.add(end);
  try {
    const snapshot = await jobs.get(id);
    await sse.send({ event: 'status', data: { type: 'status', jobId: id, status: snapshot.status, attempts: snapshot.attempts, progress: snapshot.progress, stage: snapshot.stage, error: snapshot.error } });
    if (isTerminal(snapshot.status)) {
      await sse.send({ event: 'done', data: { type: 'done', jobId: id, status: snapshot.status, error: snapshot.error } });
      return;
    }
    for (;;) {
      while (queue.length) {
        const { ev, eventId } = queue.shift()!;
        await sse.send({ id: String(eventId), event: ev.type, data: ev });
        if (ev.type === 'done') return;
      }
      if (closed) return;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
  } finally {
    open.delete(end);
    unsubscribe();
    sse.close();
  }
}

export { MediaflowError };
