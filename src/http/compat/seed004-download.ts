import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../../core/errors.js';
import type { JobService } from '../../core/jobs.service.js';
import { sendCompatError } from './compat-errors.js';

const SOURCE = 'compat:seed004';
const TAG = 'compat: seed 004 (downloads)';

/** FastAPI read `url: str` from the query string; clients also send JSON or form bodies. Accept all three. */
function param(request: FastifyRequest, name: string): string | undefined {
  const body = request.body && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : {};
  const query = (request.query ?? {}) as Record<string, unknown>;
  const v = body[name] ?? query[name];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

function required(request: FastifyRequest, name: string): string {
  const v = param(request, name);
  if (v === undefined) throw new InputError('INVALID_REQUEST', `field required: ${name}`, { details: { field: name } });
  return v;
}

/**
 * Seed 004 (video download service): three submit routes answering `{"task_id"}`; the task is
 * followed at `GET /tasks/{task_id}` (src/http/compat/tasks.ts).
 */
export async function seed004Routes(app: FastifyInstance, jobs: JobService) {
  const submit = async (request: FastifyRequest, processor: string, url: string, params: Record<string, unknown>) => {
    const { job } = await jobs.submit({ processor, params, input: { kind: 'url', url }, meta: { source: SOURCE } });
    return { task_id: job.id };
  };
  // FastAPI answered missing/invalid fields with 422; keep it, with the seeds' {"error"} too.
  const fail = (reply: Parameters<typeof sendCompatError>[0], err: unknown) => sendCompatError(reply, err, { inputStatus: 422 });

  app.post('/download/YouTube', {
    config: { auth: 'compat:seed004' },
    schema: { tags: [TAG], summary: 'Download a video page (YouTube and the other sites yt-dlp supports); `url` in JSON, form or query' },
  }, async (request, reply) => {
    try {
      return await submit(request, 'download-video', required(request, 'url'), {});
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/download/file', {
    config: { auth: 'compat:seed004' },
    schema: { tags: [TAG], summary: 'Download the file at a URL; `url` in JSON, form or query' },
  }, async (request, reply) => {
    try {
      return await submit(request, 'download', required(request, 'url'), {});
    } catch (err) {
      return fail(reply, err);
    }
  });

  app.post('/download/stream', {
    config: { auth: 'compat:seed004' },
    schema: {
      tags: [TAG],
      summary: 'Record a live HLS stream for `recording_duration` s in fragments of ≤ `max_fragment_duration` s; fields in JSON, form or query',
    },
  }, async (request, reply) => {
    try {
      const playlist = required(request, 'playlist_url');
      const params: Record<string, unknown> = {};
      for (const k of ['recording_duration', 'max_fragment_duration']) {
        const v = param(request, k);
        if (v !== undefined) params[k] = v;
      }
      return await submit(request, 'record-stream', playlist, params);
    } catch (err) {
      return fail(reply, err);
    }
  });
}
