import type { FastifyInstance } from 'fastify';
import { InputError } from '../../core/errors.js';
import type { JobService } from '../../core/jobs.service.js';
import { readMultipart } from '../multipart.js';
import { compatStatusOfJobError, sendCompatError } from './compat-errors.js';

/** How long POST /ocr waits for its job; the seed answered synchronously. */
const OCR_WAIT_MS = 300_000;

/**
 * Seed 002 (OCR microservice template): `POST /ocr` with a multipart `file` answers the OCR JSON
 * synchronously. `GET /` is the web UI, whose page holds the seed's plain form posting here.
 * The request is a job like any other, visible in /v1/jobs.
 */
export async function seed002Routes(app: FastifyInstance, jobs: JobService) {
  app.post('/ocr', {
    config: { auth: 'compat:seed002' },
    schema: {
      tags: ['compat: seed 002 (OCR)'],
      summary: 'OCR an uploaded image (multipart field `file`), synchronously',
      consumes: ['multipart/form-data'],
    },
  }, async (request, reply) => {
    try {
      if (!request.isMultipart()) throw new InputError('INPUT_MISSING', 'Send multipart/form-data with a "file" field');
      const mp = await readMultipart(request, jobs, ['file']);
      if (!mp.file) throw new InputError('INPUT_MISSING', 'No file was uploaded (field "file")');
      const params: Record<string, string> = {};
      if (mp.fields.lang) params.lang = mp.fields.lang;
      const { job } = await jobs.submit({ processor: 'ocr', params, input: { kind: 'staged', blob: mp.file }, meta: { source: 'compat:seed002', name: mp.file.name } });
      const ac = new AbortController();
      request.raw.once('close', () => ac.abort());
      const done = await jobs.waitFor(job.id, OCR_WAIT_MS, ac.signal);
      if (done.status === 'succeeded') {
        return reply.send({ filename: mp.file.name, job_id: done.id, ...(done.result as object) });
      }
      if (done.status === 'failed' || done.status === 'canceled') {
        return reply.status(compatStatusOfJobError(done.error)).send({ error: done.error?.message ?? 'OCR failed', code: done.error?.code, job_id: done.id });
      }
      return reply.status(202).send({ message: 'still processing', job_id: done.id, status_url: `/v1/jobs/${done.id}` });
    } catch (err) {
      return sendCompatError(reply, err);
    }
  });
}
