import { open, rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppConfig } from '../config/config.schema.js';
import { InputError, MediaflowError } from '../core/errors.js';
import { BatchWriter } from './batch-writer.js';
import { downloadFileName } from './content-name.js';
import { FileHasher } from './hash-worker.js';
import { classifyNetworkError, httpStatusError, openUrl } from './http-client.js';
import type { UrlGuardOptions } from './url-guard.js';

export interface DownloadToFileOptions extends UrlGuardOptions {
  config: AppConfig;
  /** Cancels the download; the promise then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Largest body accepted, in bytes (default: `config.limits.maxDownloadMb` MiB). Over it: INPUT_TOO_LARGE. */
  maxBytes?: number;
  /** Called with the bytes received and the total when the server said it, at most every 200 ms and once at the end. */
  onProgress?: (received: number, total: number | undefined) => void;
  /** Reconnections (with `Range`) after dropped connections that brought no new bytes (default 5). */
  maxResumes?: number;
  /**
   * Compute the body's SHA-256 on the way (default true). SHA-256 runs at about 0.7 GiB/s on one
   * core (SHA-NI included), half of what loopback or a fast link delivers: a caller that stores the
   * file in the blob store, which hashes it anyway, passes false and downloads at full speed.
   */
  hash?: boolean;
}

export interface DownloadedFile {
  /** `destPath`, holding exactly the body. */
  path: string;
  size: number;
  /** Hex SHA-256 of the body, computed while it streamed (undefined with `hash: false`). */
  sha256: string | undefined;
  /** A safe file name, from Content-Disposition or the URL (see `downloadFileName`). */
  fileName: string;
  /** The server's Content-Type (what it claims, not checked). */
  contentType: string | undefined;
  /** The URL that served the body, after redirects. */
  finalUrl: string;
}

/** Parses `Content-Range: bytes 100-199/1000` (total may be `*`). */
function parseContentRange(v: string | undefined): { start: number; total: number | undefined } | null {
  const m = /^bytes\s+(\d+)-(\d+)\/(\d+|\*)$/i.exec(v?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === '*' ? undefined : Number(m[3]) };
}

function parseLength(v: string | undefined): number | undefined {
  if (v === undefined || !/^\d+$/.test(v.trim())) return undefined;
  return Number(v);
}

/**
 * A validator for `If-Range`, so that a resumed request gets the rest of the *same* body or, when the
 * resource changed, the whole new body (status 200). Weak ETags are not allowed in If-Range (RFC 9110 §13.1.5).
 */
function validatorOf(res: IncomingMessage): string | undefined {
  const etag = res.headers.etag;
  if (etag && !etag.startsWith('W/')) return etag;
  return res.headers['last-modified'];
}

function tooLarge(maxBytes: number, size?: number): InputError {
  const mb = (n: number) => (n / 1048576).toFixed(1);
  return new InputError('INPUT_TOO_LARGE', size !== undefined
    ? `The file is ${mb(size)} MiB, more than the limit of ${mb(maxBytes)} MiB`
    : `The file is larger than the limit of ${mb(maxBytes)} MiB`, { details: { limitBytes: maxBytes, ...(size !== undefined ? { size } : {}) } });
}

/**
 * Streams a URL into `destPath` (never whole in memory), hashing it on the way (off the event
 * loop, see hash-worker.ts), with the SSRF
 * checks of `openUrl` on every hop, the size limit enforced both from Content-Length and while
 * streaming, and resume with `Range`/`If-Range` after a dropped connection or a stall that
 * followed progress. A server that ignores Range (answers 200) makes the download restart from
 * byte 0. On failure the partial file is removed.
 *
 * Throws MediaflowError: URL_INVALID, URL_FORBIDDEN, URL_UNREACHABLE, URL_HTTP_ERROR, URL_TIMEOUT,
 * URL_TOO_MANY_REDIRECTS, INPUT_TOO_LARGE; or the signal's reason when canceled.
 */
export async function downloadToFile(url: string, destPath: string, opts: DownloadToFileOptions): Promise<DownloadedFile> {
  const maxBytes = opts.maxBytes ?? Math.floor(opts.config.limits.maxDownloadMb * 1048576);
  const maxResumes = opts.maxResumes ?? 5;
  const { signal } = opts;
  const fh = await open(destPath, 'w');
  // The hash follows what reached the file, batch by batch, read back on another core.
  const hasher = opts.hash === false ? undefined : new FileHasher(destPath);
  const writer = new BatchWriter(fh, hasher ? { onWritten: (position, length) => hasher.written(position, length) } : {});
  let received = 0;
  let best = 0;
  let stalls = 0;
  let total: number | undefined;
  let validator: string | undefined;
  let fileName = 'download';
  let contentType: string | undefined;
  let finalUrl = url;
  let lastReport = 0;
  const report = (force = false) => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastReport < 200)) return;
    lastReport = now;
    opts.onProgress(received, total);
  };

  try {
    for (;;) {
      const headers: Record<string, string> = {};
      if (received > 0) {
        headers.range = `bytes=${received}-`;
        if (validator) headers['if-range'] = validator;
      }
      const { res, url: at } = await openUrl(url, { ...opts, headers });
      finalUrl = at.href;
      const status = res.statusCode ?? 0;
      const range = status === 206 ? parseContentRange(res.headers['content-range']) : null;

      if (status === 416 && received > 0 && total !== undefined && received >= total) {
        res.destroy(); // we already had every byte when the connection dropped
        break;
      }
      if (status < 200 || status >= 300) {
        res.destroy();
        throw httpStatusError(status, at);
      }
      if (received > 0 && range && range.start === received) {
        total = range.total ?? total; // a resumed body: append
      } else {
        // A fresh body: the first request, or a server that ignored Range / saw a changed validator.
        const wasResuming = received > 0;
        if (wasResuming) {
          await writer.reset();
          hasher?.reset();
          received = 0;
        }
        if (status === 206 && (!range || range.start !== 0)) {
          res.destroy();
          // A range other than the one asked for: start over without Range (bounded like any resume).
          if (wasResuming && ++stalls <= maxResumes) continue;
          throw new MediaflowError('URL_HTTP_ERROR', `${at.host} answered 206 with a missing or unexpected Content-Range`);
        }
        total = range ? range.total : parseLength(res.headers['content-length']);
        fileName = downloadFileName(res.headers['content-disposition'], at);
        contentType = res.headers['content-type'];
        validator = validatorOf(res);
      }
      if (total !== undefined && total > maxBytes) {
        res.destroy();
        throw tooLarge(maxBytes, total);
      }
      report(true);

      const before = received;
      let dropped: unknown;
      let fileError: unknown;
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          received += chunk.length;
          if (received > maxBytes) {
            res.destroy();
            throw tooLarge(maxBytes, total);
          }
          await writer.push(chunk).catch((err: unknown) => {
            fileError = err; // a full disk is not a dropped connection: never resumed
            throw err;
          });
          report();
        }
        // A body cut short without a socket error (e.g. a proxy closing cleanly) is a drop too.
        if (!res.complete || (total !== undefined && received < total)) dropped = new Error('the connection closed before the end of the body');
      } catch (err) {
        if (signal?.aborted) throw signal.reason;
        if (err instanceof InputError || err === fileError) {
          res.destroy();
          throw err;
        }
        dropped = err;
      }
      await writer.flush();
      if (dropped === undefined) break;

      // Resume after a drop. A stall (idle timeout) is resumed only when this attempt brought bytes,
      // so that a server that hangs for good fails after one idle period, not maxResumes of them.
      const mapped = classifyNetworkError(dropped, at, signal);
      const isTimeout = mapped instanceof MediaflowError && mapped.code === 'URL_TIMEOUT';
      if (received > best) {
        best = received;
        stalls = 0;
      } else {
        stalls++;
      }
      if ((isTimeout && received === before) || stalls > maxResumes) throw mapped;
      await delay(Math.min(2000, 100 * 2 ** stalls), undefined, { signal });
    }
    await writer.flush();
    report(true);
    await fh.close();
    const sha256 = hasher ? await hasher.digest() : undefined;
    return { path: destPath, size: received, sha256, fileName, contentType, finalUrl };
  } catch (err) {
    await writer.flush().catch(() => undefined);
    await fh.close().catch(() => undefined);
    await rm(destPath, { force: true });
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    await hasher?.close();
  }
}
