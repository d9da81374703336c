import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { BlobStore } from '../../core/ports/blob-store.port.js';
import { InputError } from '../../core/errors.js';
import type { JobService } from '../../core/jobs.service.js';
import { safeFileName } from '../../util/safe-name.js';
import { readMultipart } from '../multipart.js';
import { sendBlob } from '../serve-blob.js';
import { sendCompatError } from './compat-errors.js';
import { processedUrl } from './tasks.js';

const SOURCE = 'compat:seed001';
const EXTENSIONS: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg' };

async function latestByName(jobs: JobService, name: string) {
  const page = await jobs.list({ processor: ['upscale'], meta: { key: 'name', value: name }, limit: 20 });
  return page.items.filter((j) => j.meta.source === SOURCE);
}

/**
 * Seed 001 (Flask + Celery + MongoDB upscaler). The seed keyed work by file name: a name being
 * processed answers "wait" with its task id, a name already done answers its /processed URL, and
 * neither makes a new job.
 */
export async function seed001Routes(app: FastifyInstance, jobs: JobService, blobs: BlobStore) {
  app.post('/upscale', {
    config: { auth: 'compat:seed001' },
    schema: { tags: ['compat: seed 001 (upscale)'], summary: 'Upscale an image (multipart field `image`: png, jpg, jpeg)', consumes: ['multipart/form-data'] },
  }, async (request, reply) => {
    let staged = null;
    try {
      if (!request.isMultipart()) throw new InputError('INPUT_MISSING', 'No image part in the request');
      const mp = await readMultipart(request, jobs, ['image']);
      staged = mp.file;
      if (!mp.file) throw new InputError('INPUT_MISSING', mp.fileField ? 'No selected file' : 'No image part in the request');
      const name = safeFileName(mp.rawFileName, 'image.png');
      const expected = EXTENSIONS[path.extname(name).toLowerCase()];
      if (!expected) throw new InputError('INPUT_UNSUPPORTED_TYPE', 'Invalid file format. Allowed: png, jpg, jpeg');
      const actual = mp.file.size === 0 ? 'empty' : await jobs.mimeOf(mp.file);
      // The content must really be the type its extension says (a GIF renamed .png is refused).
      if (actual !== expected) throw new InputError('INPUT_UNSUPPORTED_TYPE', mp.file.size === 0 ? 'The file is empty' : `Invalid file: its content is ${actual === 'application/octet-stream' ? 'not an image' : actual}, not ${expected}`);
      const previous = await latestByName(jobs, name);
      const busy = previous.find((j) => j.status === 'queued' || j.status === 'running');
      if (busy) {
        return reply.status(202).send({ message: `File ${name} is being processed, wait...`, task_id: busy.id, status_url: `/tasks/${busy.id}` });
      }
      const done = previous.find((j) => j.status === 'succeeded');
      if (done) {
        return reply.status(200).send({ message: `File ${name} already processed`, url: processedUrl(done) });
      }
      const { job } = await jobs.submit({
        processor: 'upscale',
        params: {},
        input: { kind: 'staged', blob: { ...mp.file, name } },
        meta: { source: SOURCE, name },
        noDedup: true,
      });
      staged = null;
      return reply.status(202).send({ task_id: job.id, status: 'PENDING', status_url: `/tasks/${job.id}` });
    } catch (err) {
      return sendCompatError(reply, err);
    }
  });

  app.get('/processed/:file_name', {
    config: { auth: 'compat:seed001' },
    schema: { tags: ['compat: seed 001 (upscale)'], summary: 'The upscaled image bytes', params: Type.Object({ file_name: Type.String() }) },
  }, async (request, reply) => {
    const name = (request.params as { file_name: string }).file_name;
    const done = (await latestByName(jobs, name)).find((j) => j.status === 'succeeded');
    const out = done?.outputs.find((o) => o.mime.startsWith('image/'));
    if (!done || !out) return reply.status(404).send({ error: 'File not found' });
    return sendBlob(request, reply, blobs, { ...out, name });
  });
}
