import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AbortMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, DeleteObjectCommand, GetObjectCommand,
  HeadBucketCommand, HeadObjectCommand, ListMultipartUploadsCommand, paginateListObjectsV2, type S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { contentDispositionHeader } from '../../net/content-name.js';
import { MediaflowError } from '../../core/errors.js';
import type { BlobEntry, BlobInfo, BlobStore, PutOptions } from '../../core/ports/blob-store.port.js';
import { createS3Client, type S3Settings } from './s3.client.js';
import { isNotFound, s3Error, statusOf } from './s3.errors.js';
import { S3Keys } from './s3.keys.js';
import { MAX_OBJECT_BYTES, uploadHashed, type UploadTuning } from './s3.upload.js';

const MiB = 1024 * 1024;

/**
 * Blobs as objects in an S3-compatible bucket (AWS S3, MinIO, Ceph, Swift's s3api), keyed by
 * content under `<prefix>blobs/ab/cd/<sha256>` (see S3Keys).
 *
 * A write is streamed to `<prefix>tmp/<uuid>` in multipart parts while being hashed, then copied
 * to its content key and the temporary object removed: a content key only ever holds complete
 * data. Up to 5 GiB a blob (the limit of one CopyObject, and of an object on Swift).
 */
export class S3BlobStore implements BlobStore {
  readonly bucket: string;
  readonly keys: S3Keys;
  /** Defined only when `presignDownloads` is on: the HTTP layer then redirects downloads here. */
  readonly presignedUrl?: (sha256: string, opts: { fileName: string; mime: string; expiresSeconds: number; inline?: boolean }) => Promise<string>;
  private readonly client: S3Client;
  private readonly tuning: UploadTuning;
  private readonly listPageSize: number;

  constructor(settings: S3Settings, tuning: Partial<UploadTuning> & { listPageSize?: number } = {}) {
    this.bucket = settings.bucket;
    this.keys = new S3Keys(settings.prefix);
    this.client = createS3Client(settings);
    // 8 MiB parts: 640 parts for a 5 GiB blob, under Swift's 1,000-part limit. About
    // (queueSize + 1) × partSize is held in memory per upload: 40 MiB.
    this.tuning = { partSize: Math.max(5 * MiB, tuning.partSize ?? 8 * MiB), queueSize: Math.max(1, tuning.queueSize ?? 4) };
    this.listPageSize = tuning.listPageSize ?? 1000;
    if (settings.presignDownloads) this.presignedUrl = (sha, opts) => this.presign(sha, opts);
  }

  /** Creates the bucket when missing (`mediaflow migrate`). */
  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
      return;
    } catch (err) {
      if (!isNotFound(err)) throw this.fail(err);
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      // Another node running migrate at the same time.
      if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw this.fail(err);
    }
  }

  async put(source: Readable | Buffer, opts: PutOptions = {}): Promise<BlobInfo> {
    const tmp = this.keys.temporary(randomUUID());
    try {
      const info = await uploadHashed(this.client, this.bucket, tmp, source, opts, this.tuning);
      await this.publish(tmp, info.sha256);
      return info;
    } catch (err) {
      // A single-part upload may have completed before the failure (e.g. of the copy).
      await this.removeQuietly(tmp);
      throw this.fail(err);
    }
  }

  /**
   * Copies the finished temporary object to its content key, whether or not that key exists. When
   * it does, the copy is the touch the sweeper's grace period relies on: it rewrites the object
   * and so its LastModified. Copying onto itself (MetadataDirective REPLACE) would cost the same
   * server-side copy plus a HEAD, and the data is already uploaded. The bytes are the same, so a
   * reader sees the old or the new object, both complete.
   */
  private async publish(tmp: string, sha256: string): Promise<void> {
    await this.client.send(new CopyObjectCommand({
      Bucket: this.bucket,
      Key: this.keys.blob(sha256),
      CopySource: `${this.bucket}/${tmp}`,
      MetadataDirective: 'COPY',
    }));
    await this.removeQuietly(tmp);
  }

  /**
   * A local file is hashed first: when its content is already stored, the blob is touched in
   * place (a server-side copy onto itself) instead of uploading it again.
   */
  async putFile(file: string, opts: PutOptions = {}): Promise<BlobInfo> {
    const { size } = await stat(file);
    const max = Math.min(opts.maxBytes ?? Infinity, MAX_OBJECT_BYTES);
    if (size > max) throw new MediaflowError('INPUT_TOO_LARGE', `The input is larger than ${Math.floor(max / MiB)} MiB`);
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash);
    const sha256 = hash.digest('hex');
    if (await this.touch(sha256)) return { sha256, size };
    return this.put(createReadStream(file), opts);
  }

  /** Rewrites a stored blob onto itself so that its LastModified moves; false when absent. */
  private async touch(sha256: string): Promise<boolean> {
    const key = this.keys.blob(sha256);
    try {
      await this.client.send(new CopyObjectCommand({
        Bucket: this.bucket, Key: key, CopySource: `${this.bucket}/${key}`,
        MetadataDirective: 'REPLACE', ContentType: 'application/octet-stream',
      }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.fail(err);
    }
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    const key = this.keys.blob(sha256);
    // S3 ignores a malformed Range and answers the whole object: refuse it here instead.
    if (range && !(Number.isSafeInteger(range.start) && Number.isSafeInteger(range.end) && range.start >= 0 && range.end >= range.start)) {
      throw new MediaflowError('INVALID_REQUEST', `invalid byte range ${range.start}-${range.end}`);
    }
    try {
      const res = await this.client.send(new GetObjectCommand({
        Bucket: this.bucket, Key: key, Range: range ? `bytes=${range.start}-${range.end}` : undefined,
      }));
      return res.Body as Readable;
    } catch (err) {
      if (isNotFound(err)) throw new MediaflowError('NOT_FOUND', `blob ${sha256} is missing`);
      // A range starting past the end: no bytes, as a file read there gives.
      if (statusOf(err) === 416) return Readable.from([]);
      throw this.fail(err);
    }
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    const head = await this.head(sha256);
    return head ? { sha256, size: head.size } : null;
  }

  private async head(sha256: string): Promise<{ size: number; modifiedMs: number } | null> {
    let key: string;
    try {
      key = this.keys.blob(sha256);
    } catch {
      return null;
    }
    try {
      const res = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return { size: res.ContentLength ?? 0, modifiedMs: res.LastModified?.getTime() ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw this.fail(err);
    }
  }

  async withLocalFile<T>(sha256: string, scratchDir: string, fn: (file: string) => Promise<T>): Promise<T> {
    await mkdir(scratchDir, { recursive: true });
    const file = path.join(scratchDir, `${randomUUID()}-${sha256}`);
    try {
      await this.download(sha256, file);
      return await fn(file);
    } finally {
      await rm(file, { force: true });
    }
  }

  /** Downloads and checks the hash: a connection cut mid-body must not pass for the blob. */
  private async download(sha256: string, file: string): Promise<void> {
    const body = await this.open(sha256);
    const hash = createHash('sha256');
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      await pipeline(body, tap, createWriteStream(file, { flags: 'wx', mode: 0o444 }));
    } catch (err) {
      throw this.fail(err);
    }
    if (hash.digest('hex') !== sha256) {
      throw new MediaflowError('BLOB_STORE_UNAVAILABLE', `blob ${sha256} was read back incomplete or altered`);
    }
  }

  async *list(): AsyncIterable<BlobEntry> {
    try {
      for await (const page of paginateListObjectsV2({ client: this.client, pageSize: this.listPageSize }, { Bucket: this.bucket, Prefix: this.keys.blobs })) {
        for (const o of page.Contents ?? []) {
          const sha256 = this.keys.shaOf(o.Key);
          if (sha256) yield { sha256, size: o.Size ?? 0, modifiedMs: o.LastModified?.getTime() ?? 0 };
        }
      }
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * HEAD, then DELETE when LastModified is not after the bound. S3 has no portable conditional
   * delete, so a `put` of the same content landing between the two requests (one round trip) is
   * lost: its blob is deleted although just touched. The sweeper only considers blobs that no job
   * references and that were untouched for the whole grace period, so that takes a submit of the
   * same content racing the sweeper within those few milliseconds. The bound is compared with
   * the server's clock (LastModified), so clock skew between nodes must stay well under the grace.
   */
  async deleteIfUnchanged(sha256: string, notModifiedSinceMs: number): Promise<boolean> {
    const head = await this.head(sha256);
    if (!head) return false;
    // HTTP dates have whole seconds, truncated by AWS (the write may be up to 999 ms after the date)
    // and rounded up by Swift: counting the date's whole second as modified is safe for both.
    if (head.modifiedMs + 999 > notModifiedSinceMs) return false;
    await this.delete(sha256);
    return true;
  }

  /** DeleteObject answers 204 for a missing key too, so this is idempotent. */
  async delete(sha256: string): Promise<void> {
    const key = this.keys.blob(sha256);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      throw this.fail(err);
    }
  }

  /**
   * Aborts multipart uploads and removes temporary objects under `<prefix>tmp/` started more than
   * `olderThanMs` ago (an age, not a date): leftovers of uploads whose process died, or whose
   * abort could not reach the server. One DeleteObject per object rather than DeleteObjects,
   * which Swift refuses without a Content-MD5 header that current SDKs no longer send.
   */
  async sweepPartial(beforeMs: number): Promise<number> {
    const cutoff = beforeMs;
    let removed = 0;
    try {
      let KeyMarker: string | undefined;
      let UploadIdMarker: string | undefined;
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: this.keys.tmp, KeyMarker, UploadIdMarker, MaxUploads: this.listPageSize }));
        for (const u of page.Uploads ?? []) {
          if (!u.Key?.startsWith(this.keys.tmp) || (u.Initiated?.getTime() ?? 0) >= cutoff) continue;
          try {
            await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }));
            removed++;
          } catch (err) {
            if (!isNotFound(err)) throw err; // NoSuchUpload: finished or aborted meanwhile
          }
        }
        if (!page.IsTruncated) break;
        KeyMarker = page.NextKeyMarker;
        UploadIdMarker = page.NextUploadIdMarker;
      }
      for await (const page of paginateListObjectsV2({ client: this.client, pageSize: this.listPageSize }, { Bucket: this.bucket, Prefix: this.keys.tmp })) {
        for (const o of page.Contents ?? []) {
          if (!o.Key || (o.LastModified?.getTime() ?? 0) >= cutoff) continue;
          await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: o.Key }));
          removed++;
        }
      }
    } catch (err) {
      throw this.fail(err);
    }
    return removed;
  }

  private async presign(sha256: string, opts: { fileName: string; mime: string; expiresSeconds: number; inline?: boolean }): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: this.keys.blob(sha256),
      ResponseContentDisposition: contentDispositionHeader(opts.fileName, opts.inline ? 'inline' : 'attachment'),
      ResponseContentType: opts.mime,
    });
    return getSignedUrl(this.client, command, { expiresIn: opts.expiresSeconds });
  }

  /** Object storage has no free-space figure. */
  async freeBytes(): Promise<null> {
    return null;
  }

  async ping(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal: AbortSignal.timeout(10_000) });
    } catch (err) {
      if (isNotFound(err)) throw this.fail(Object.assign(new Error('NoSuchBucket'), { name: 'NoSuchBucket' }));
      // A timed-out ping is the store being unreachable, not a canceled job.
      if ((err as Error).name === 'AbortError') throw new MediaflowError('BLOB_STORE_UNAVAILABLE', 'The S3 store did not answer within 10 s', { cause: err });
      throw this.fail(err);
    }
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async removeQuietly(key: string): Promise<void> {
    // Best effort: what stays behind is removed by sweepPartial.
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })).catch(() => undefined);
  }

  private fail(err: unknown): MediaflowError {
    return s3Error(err, this.bucket);
  }
}
