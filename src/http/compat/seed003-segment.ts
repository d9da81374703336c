import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InputError } from '../../core/errors.js';
import type { Job } from '../../core/job.types.js';
import type { JobService, SubmitInput } from '../../core/jobs.service.js';
import { readMultipart } from '../multipart.js';
import { compatStatusOfJobError, sendCompatError } from './compat-errors.js';

const SOURCE = 'compat:seed003';
const TAG = 'compat: seed 003 (masks and orientation)';
const PREDICT_WAIT_MS = 300_000;

/** `image_YYYYMMDD_HHMMSS.jpg` in UTC, as the seed named uploads; a suffix keeps two in one second apart. */
function uploadName(now: Date, n: number): string {
  const p = (v: number) => String(v).padStart(2, '0');
  const stamp = `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}_${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  return `image_${stamp}${n ? `_${n}` : ''}.jpg`;
}

function jsonImage(request: FastifyRequest): string {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw new InputError('INVALID_REQUEST', 'The body must be JSON {"image": "<base64>"}');
  const image = (body as { image?: unknown }).image;
  if (typeof image !== 'string' || image.length === 0) throw new InputError('INPUT_MISSING', 'No "image" field (base64) in the JSON body');
  return image;
}

async function findUpload(jobs: JobService, filename: string): Promise<Job | undefined> {
  const page = await jobs.list({ processor: ['orientation'], meta: { key: 'name', value: filename }, limit: 5 });
  return page.items.find((j) => j.meta.source === SOURCE);
}

/**
 * Seed 003: the mask server (`/health`, `/predict`) and the main server (`/upload`,
 * `/status/<filename>`, and its `image_results` table — a view over these jobs in the embedded
 * database). Masks come from the `segment` processor, degrees from `orientation`.
 */
export async function seed003Routes(app: FastifyInstance, jobs: JobService) {
  // GET /health is the server's own (same answer: {"status": "ok"}).

  app.post('/predict', {
    config: { auth: 'compat:seed003' },
    schema: {
      tags: [TAG],
      summary: 'Instance segmentation: multipart `file` or JSON {"image": base64} → {"status": "success", "count", "masks": [{mask_id, mask_rle: {counts, size}}]}',
      consumes: ['multipart/form-data', 'application/json'],
    },
  }, async (request, reply) => {
    let staged = null;
    try {
      let input: SubmitInput;
      if (request.isMultipart()) {
        const mp = await readMultipart(request, jobs, ['file', 'image']);
        staged = mp.file;
        if (!mp.file) throw new InputError('INPUT_MISSING', 'No file part in the request');
        input = { kind: 'staged', blob: mp.file };
      } else {
        input = { kind: 'base64', data: jsonImage(request), name: 'image' };
      }
      const { job } = await jobs.submit({ processor: 'segment', params: {}, input, meta: { source: SOURCE } });
      staged = null;
      const ac = new AbortController();
      request.raw.once('close', () => ac.abort());
      const done = await jobs.waitFor(job.id, PREDICT_WAIT_MS, ac.signal);
      if (done.status !== 'succeeded') {
        const status = done.status === 'failed' || done.status === 'canceled' ? compatStatusOfJobError(done.error) : 500;
        return reply.status(status).send({ error: done.error?.message ?? 'segmentation did not finish in time', code: done.error?.code });
      }
      const result = done.result as { count: number; instances: Array<Record<string, unknown>> };
      return reply.send({ status: 'success', count: result.count, masks: result.instances, job_id: done.id });
    } catch (err) {
      return sendCompatError(reply, err);
    }
  });

  app.post('/upload', {
    config: { auth: 'compat:seed003' },
    schema: {
      tags: [TAG],
      summary: 'Upload a base64 image (JSON {"image"}); its orientation is computed in the background → {"message", "filename"}',
      consumes: ['application/json'],
    },
  }, async (request, reply) => {
    try {
      const image = jsonImage(request);
      // Unique even for several uploads in one second: the name is claimed by the job's record.
      const now = new Date();
      let filename = uploadName(now, 0);
      for (let n = 1; await findUpload(jobs, filename); n++) filename = uploadName(now, n);
      const { job } = await jobs.submit({
        processor: 'orientation',
        params: {},
        input: { kind: 'base64', data: image, name: filename },
        meta: { source: SOURCE, name: filename },
        noDedup: true,
      });
      return reply.send({ message: 'success upload image', filename, job_id: job.id });
    } catch (err) {
      return sendCompatError(reply, err);
    }
  });

  app.get('/status/:filename', {
    config: { auth: 'compat:seed003' },
    schema: { tags: [TAG], summary: 'Processing status of an upload: processing | completed (with degree) | error' },
  }, async (request, reply) => {
    const filename = (request.params as { filename: string }).filename;
    const job = await findUpload(jobs, filename);
    if (!job) return reply.status(404).send({ error: 'no processing record for this file' });
    const status = job.status === 'succeeded' ? 'completed' : job.status === 'failed' || job.status === 'canceled' ? 'error' : 'processing';
    const degree = (job.result as { degree?: number | null } | null)?.degree;
    return reply.send({
      status,
      filename,
      ...(status === 'completed' ? { degree: degree ?? null } : {}),
      ...(status === 'error' ? { error: job.error?.message } : {}),
    });
  });
}
