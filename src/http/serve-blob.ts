import type { FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import { safeFileName } from '../util/safe-name.js';
import { contentDispositionHeader } from '../net/content-name.js';

const PRESIGN_SECONDS = 300;

export interface BlobFile {
  sha256: string;
  size: number;
  mime: string;
  name: string;
}

/**
 * Sends a stored blob with Content-Type, Content-Length, a strong ETag (the content hash, so it
 * never changes for a name), conditional GET and single byte ranges (audio/video seeking, resumed
 * downloads). `attachment` adds Content-Disposition with the file name. `redirect` (S3 with
 * `s3.presignDownloads`) answers a GET with a 302 to a presigned URL instead, so the bytes go from
 * the object store to the client without passing through this node; the store honours Range itself.
 */
export async function sendBlob(request: FastifyRequest, reply: FastifyReply, blobs: BlobStore, file: BlobFile, opts: { attachment?: boolean; redirect?: boolean } = {}) {
  const etag = `"${file.sha256}"`;
  reply.header('ETag', etag);
  reply.header('Accept-Ranges', 'bytes');
  reply.header('Cache-Control', 'private, max-age=31536000, immutable');
  reply.type(file.mime);
  const name = safeFileName(file.name);
  reply.header('Content-Disposition', contentDispositionHeader(name, opts.attachment ? 'attachment' : 'inline'));
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
  // A presigned URL is signed for GET only, so HEAD is answered here. The URL expires: the redirect
  // is not cached (the client follows it at once, and a started download outlives the expiry).
  if (opts.redirect && blobs.presignedUrl && request.method === 'GET') {
    const url = await blobs.presignedUrl(file.sha256, { fileName: name, mime: file.mime, expiresSeconds: PRESIGN_SECONDS, inline: !opts.attachment });
    reply.header('Cache-Control', 'no-store');
    return reply.redirect(url, 302);
  }
  const range = request.headers.range;
  if (range && (!request.headers['if-range'] || request.headers['if-range'] === etag)) {
    const parsed = rangeParser(file.size, range, { combine: true });
    if (parsed === -1) {
      reply.header('Content-Range', `bytes */${file.size}`);
      return reply.status(416).send();
    }
    if (parsed !== -2 && parsed.type === 'bytes' && parsed.length === 1) {
      const { start, end } = parsed[0]!;
      reply.header('Content-Range', `bytes ${start}-${end}/${file.size}`);
      reply.header('Content-Length', end - start + 1);
      return reply.status(206).send(await blobs.open(file.sha256, { start, end }));
    }
  }
  reply.header('Content-Length', file.size);
  if (request.method === 'HEAD') return reply.send();
  return reply.send(await blobs.open(file.sha256));
}
