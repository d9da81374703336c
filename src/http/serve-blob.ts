import type { FastifyReply, FastifyRequest } from 'fastify';
import rangeParser from 'range-parser';
import type { BlobStore } from '../core/ports/blob-store.port.js';
import { safeFileName } from '../util/safe-name.js';

export interface BlobFile {
  sha256: string;
  size: number;
  mime: string;
  name: string;
}

/**
 * Sends a stored blob with Content-Type, Content-Length, a strong ETag (the content hash, so it
 * never changes for a name), conditional GET and single byte ranges (audio/video seeking, resumed
 * downloads). `attachment` adds Content-Disposition with the file name.
 */
export async function sendBlob(request: FastifyRequest, reply: FastifyReply, blobs: BlobStore, file: BlobFile, opts: { attachment?: boolean } = {}) {
  const etag = `"${file.sha256}"`;
  reply.header('ETag', etag);
  reply.header('Accept-Ranges', 'bytes');
  reply.header('Cache-Control', 'private, max-age=31536000, immutable');
  reply.type(file.mime);
  const name = safeFileName(file.name);
  reply.header('Content-Disposition', `${opts.attachment ? 'attachment' : 'inline'}; filename="${name.replace(/[^\x20-\x7e]|"/g, '_')}"; filename*=UTF-8''${encodeURIComponent(name)}`);
  if (request.headers['if-none-match'] === etag) return reply.status(304).send();
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
