import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { BlobStore } from '../../core/ports/blob-store.port.js';
import { InputError } from '../../core/errors.js';
import type { JobService } from '../../core/jobs.service.js';
import { readMultipart } from '../multipart.js';
import { sendBlob } from '../serve-blob.js';
import { compatStatusOfJobError, sendCompatError } from './compat-errors.js';

/** The seed blocked until Demucs was done; a long song on a small machine takes minutes. */
const SONG_WAIT_MS = 60 * 60_000;
const ALLOWED = new Set(['.wav', '.flac']);

/**
 * Seed 000 (Flask + Demucs in Docker): `POST /process_song` with a `.wav`/`.flac` in `file`
 * answers the `vocals.wav` itself, after separating with two stems, shifts 1, overlap 0.3 (the
 * seed's `htdemucs_ft --two-stems vocals --shifts 1 --overlap 0.3`; Mediaflow runs htdemucs). The
 * job keeps both stems and shows in /v1/jobs.
 */
export async function seed000Routes(app: FastifyInstance, jobs: JobService, blobs: BlobStore) {
  app.post('/process_song', {
    config: { auth: 'compat:seed000' },
    schema: {
      tags: ['compat: seed 000 (vocals)'],
      summary: 'Extract the vocals of a .wav or .flac song (multipart `file`); answers vocals.wav when done',
      consumes: ['multipart/form-data'],
    },
  }, async (request, reply) => {
    let staged = null;
    try {
      if (!request.isMultipart()) throw new InputError('INPUT_MISSING', 'No file part');
      const mp = await readMultipart(request, jobs, ['file']);
      staged = mp.file;
      if (!mp.file) throw new InputError('INPUT_MISSING', mp.fileField ? 'No selected file' : 'No file part');
      if (!ALLOWED.has(path.extname(mp.rawFileName ?? '').toLowerCase())) {
        throw new InputError('INPUT_UNSUPPORTED_TYPE', 'Invalid file type. Allowed: .wav, .flac');
      }
      const { job } = await jobs.submit({
        processor: 'separate',
        params: { stems: 'vocals', shifts: 1, overlap: 0.3, format: 'wav' },
        input: { kind: 'staged', blob: mp.file },
        meta: { source: 'compat:seed000', name: mp.file.name },
      });
      staged = null;
      const ac = new AbortController();
      request.raw.once('close', () => ac.abort());
      const done = await jobs.waitFor(job.id, SONG_WAIT_MS, ac.signal);
      if (done.status !== 'succeeded') {
        const status = done.status === 'failed' || done.status === 'canceled' ? compatStatusOfJobError(done.error) : 500;
        return reply.status(status).send({ error: done.error?.message ?? 'Separation did not finish', code: done.error?.code, job_id: done.id });
      }
      const vocals = done.outputs.find((o) => o.name === 'vocals.wav');
      if (!vocals) return reply.status(500).send({ error: 'Separation produced no vocals', job_id: done.id });
      reply.header('X-Mediaflow-Job', done.id);
      return sendBlob(request, reply, blobs, { ...vocals, mime: 'audio/wav' }, { attachment: true });
    } catch (err) {
      return sendCompatError(reply, err);
    }
  });
}
