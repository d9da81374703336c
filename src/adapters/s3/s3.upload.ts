import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { MediaflowError } from '../../core/errors.js';
import type { BlobInfo, PutOptions } from '../../core/ports/blob-store.port.js';

/** S3's (and Swift's) limit for one object, and so for a CopyObject without a multipart copy. */
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
/** Swift's limit of parts in one multipart upload (AWS allows 10,000). */
const MAX_PARTS = 1000;

export interface UploadTuning {
  /** Bytes per multipart part (≥ 5 MiB); at most queueSize × partSize are held in memory. */
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
}

/**
 * Streams `source` to `key`, hashing and counting on the way; about queueSize + 1 parts are
 * buffered, never the whole input.
 * On failure lib-storage aborts the multipart upload it started (when the server still answers;
 * otherwise `sweepPartial` aborts it later) and the source is destroyed.
 */
export async function uploadHashed(client: S3Client, bucket: string, key: string, source: Readable | Buffer, opts: PutOptions, tuning: UploadTuning): Promise<BlobInfo> {
  const hash = createHash('sha256');
  let size = 0;
  const max = Math.min(opts.maxBytes ?? Infinity, MAX_OBJECT_BYTES);
  const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
  const { signal } = opts;

  async function* metered(): AsyncGenerator<Buffer> {
    for await (const chunk of input as AsyncIterable<Buffer | string>) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > max) {
        throw new MediaflowError('INPUT_TOO_LARGE', `The input is larger than ${Math.floor(max / 1048576)} MiB`);
      }
      hash.update(buf);
      yield buf;
    }
    // @fastify/multipart truncates instead of erroring when its own limit is hit.
    if ((input as Readable & { truncated?: boolean }).truncated) throw new MediaflowError('INPUT_TOO_LARGE');
  }
  const body = Readable.from(metered(), { objectMode: false });

  // Cancelling ends the source: the failure then runs through lib-storage's own clean-up (abort of
  // the multipart upload) before `done()` settles. Its `abortController` would instead settle
  // `done()` at once and leave the parts in flight behind.
  const onAbort = () => input.destroy(signal?.reason instanceof Error ? signal.reason : Object.assign(new Error('aborted'), { name: 'AbortError' }));
  if (signal?.aborted) onAbort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const upload = new Upload({
      client,
      params: { Bucket: bucket, Key: key, Body: body, ContentType: 'application/octet-stream' },
      // Large enough for the biggest input this put accepts to fit in MAX_PARTS parts.
      partSize: Math.max(tuning.partSize, Math.ceil(max / MAX_PARTS)),
      queueSize: tuning.queueSize,
      leavePartsOnError: false,
    });
    await upload.done();
    return { sha256: hash.digest('hex'), size };
  } catch (err) {
    body.destroy();
    input.destroy();
    throw err;
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}
