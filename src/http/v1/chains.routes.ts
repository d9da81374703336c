import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { InputError } from '../../core/errors.js';
import { isTerminal, type Job, type JobEvent } from '../../core/job.types.js';
import type { ChainRequest, JobService, SubmitInput } from '../../core/jobs.service.js';
import type { EventLog } from '../../core/ports/event-log.port.js';
import { parseJsonField, readMultipart } from '../multipart.js';
import { jobView } from './job.view.js';
import { jobInputOf, jsonInput, preferWait } from './jobs.routes.js';

const Step = Type.Object({
  processor: Type.String({ minLength: 1 }),
  params: Type.Optional(Type.Object({}, { additionalProperties: true })),
  output: Type.Optional(Type.String({ minLength: 1, maxLength: 255, description: 'The output of the step before to take (default `*`: its first output)' })),
}, { additionalProperties: false });

const ChainJson = Type.Object({
  input: Type.Optional(Type.Object({
    base64: Type.Optional(Type.String()),
    filename: Type.Optional(Type.String()),
    url: Type.Optional(Type.String()),
    job: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
    output: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
  }, { additionalProperties: false })),
  steps: Type.Array(Step, { minItems: 1, maxItems: 10, description: 'Processors in order; each takes an output of the one before' }),
  webhook: Type.Optional(Type.String({ description: 'POSTed the last job when it ends' })),
  priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100 })),
}, { additionalProperties: false });

const ChainId = Type.Object({ id: Type.String({ description: 'Chain id' }) });
const chainView = (id: string, jobs: Job[]) => ({ id, jobs: jobs.map(jobView), links: { self: `/v1/chains/${id}`, events: `/v1/chains/${id}/events` } });

async function parseChain(request: FastifyRequest, jobs: JobService): Promise<ChainRequest> {
  const idempotencyKey = (request.headers['idempotency-key'] as string | undefined)?.slice(0, 200) ?? null;
  if (request.isMultipart()) {
    const mp = await readMultipart(request, jobs, ['file']);
    const { steps, url, webhook, input_job: inputJob, input_output: inputOutput } = mp.fields;
    const parsed = parseJsonField(steps, 'steps');
    if (!Array.isArray(parsed) || parsed.length === 0 || parsed.length > 10) throw new InputError('INVALID_REQUEST', 'The form field "steps" must be a JSON array of 1 to 10 steps');
    const input: SubmitInput = mp.file ? { kind: 'staged', blob: mp.file } : url ? { kind: 'url', url } : jobInputOf(inputJob, inputOutput) ?? { kind: 'none' };
    return { input, steps: parsed as ChainRequest['steps'], idempotencyKey, webhook: webhook || null };
  }
  const body = request.body as { input?: Parameters<typeof jsonInput>[0]; steps: ChainRequest['steps']; webhook?: string; priority?: number } | undefined;
  // Bodies of other types are not checked by the JSON schema: refuse anything but the documented shape.
  if (!body || typeof body !== 'object' || !Array.isArray(body.steps)) throw new InputError('INVALID_REQUEST', 'Send JSON {"input": {...}, "steps": [{"processor", "params", "output"}]} or multipart with a "steps" field');
  return { input: jsonInput(body.input), steps: body.steps, idempotencyKey, webhook: body.webhook ?? null, priority: body.priority };
}

/**
 * Chains: several processors in one request, each taking an output of the one before ("the vocals
 * of this video link"). The jobs are ordinary jobs (`/v1/jobs/:id`), linked by their input.
 */
export async function chainsRoutes(app: FastifyInstance, d: { jobs: JobService; events: EventLog }) {
  const open = new Set<() => void>();
  app.addHook('preClose', async () => { for (const end of open) end(); });

  app.post('/v1/chains', {
    schema: {
      tags: ['chains'],
      summary: 'Submit a chain of jobs',
      description: 'JSON `{"input": {...as for a job...}, "steps": [{"processor", "params", "output"}]}` or multipart (`file`/`url`, `steps` as JSON). '
        + 'Answers every job at once; `Prefer: wait=N` waits for the last step.',
      consumes: ['application/json', 'multipart/form-data'],
      body: { content: { 'application/json': { schema: ChainJson }, 'multipart/form-data': { schema: Type.Unknown() } } },
    },
  }, async (request, reply) => {
    const { id, jobs } = await d.jobs.submitChain(await parseChain(request, d.jobs));
    const wait = preferWait(request);
    const last = jobs[jobs.length - 1]!;
    if (wait !== null && !isTerminal(last.status)) {
      const ac = new AbortController();
      request.raw.once('close', () => ac.abort());
      await d.jobs.waitFor(last.id, wait * 1000, ac.signal);
      reply.header('Preference-Applied', `wait=${wait}`);
    }
    const now = await d.jobs.chain(id);
    reply.header('Location', `/v1/chains/${id}`);
    return reply.status(isTerminal(now[now.length - 1]!.status) ? 200 : 202).send(chainView(id, now));
  });

  app.get('/v1/chains/:id', { schema: { tags: ['chains'], summary: 'A chain: its jobs in step order', params: ChainId } }, async (request) => {
    const id = (request.params as { id: string }).id;
    return chainView(id, await d.jobs.chain(id));
  });

  app.get('/v1/chains/:id/events', {
    sse: { kind: 'only', heartbeat: true },
    schema: { tags: ['chains'], summary: 'Server-Sent Events of every job of a chain; ends when the last one has ended', params: ChainId },
  } as never, async (request: FastifyRequest, reply: FastifyReply) => {
    const id = (request.params as { id: string }).id;
    await streamChain(reply, d, id, await d.jobs.chain(id), open);
  });
}

/** Subscribes first, then sends each job's snapshot, then its events; ends once every job has ended. */
async function streamChain(reply: FastifyReply, d: { jobs: JobService; events: EventLog }, id: string, jobs: Job[], open: Set<() => void>) {
  const ids = new Set(jobs.map((j) => j.id));
  const ended = new Set<string>();
  const queue: Array<{ ev: JobEvent; eventId: number }> = [];
  let wake: (() => void) | null = null;
  const unsubscribe = d.events.subscribe('*', (ev, eventId) => {
    if (!ids.has(ev.jobId)) return;
    queue.push({ ev, eventId });
    wake?.();
  });
  const sse = (reply as unknown as { sse: { send(m: unknown): Promise<void>; onClose(cb: () => void): void; close(): void } }).sse;
  let closed = false;
  const end = () => { closed = true; wake?.(); };
  sse.onClose(end);
  open.add(end);
  try {
    for (const j of await d.jobs.chain(id)) {
      await sse.send({ event: 'status', data: { type: 'status', jobId: j.id, status: j.status, attempts: j.attempts, progress: j.progress, stage: j.stage, error: j.error } });
      if (isTerminal(j.status)) ended.add(j.id);
    }
    while (ended.size < ids.size && !closed) {
      while (queue.length) {
        const { ev, eventId } = queue.shift()!;
        await sse.send({ id: String(eventId), event: ev.type, data: ev });
        if (ev.type === 'done') ended.add(ev.jobId);
      }
      if (ended.size >= ids.size || closed) break;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
    if (!closed) await sse.send({ event: 'done', data: { type: 'chain-done', chain: id } });
  } finally {
    open.delete(end);
    unsubscribe();
    sse.close();
  }
}
