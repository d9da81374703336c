import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import { isSafeOutputName } from '../util/safe-name.js';
import { modelCacheDir } from './models.resolve.js';

export interface FetchModelOptions {
  url: string;
  /** Expected SHA-256 (hex) of the file; a download that differs is deleted and refused. */
  sha256: string;
  /** File name in the model cache (a plain name). */
  file: string;
  config: AppConfig;
  /** Expected size in bytes, when known: a longer body is cut off and refused early. */
  size?: number;
  signal?: AbortSignal;
  /** Called as bytes arrive: `(received, total or null)`. */
  onProgress?: (received: number, total: number | null) => void;
}

export interface FetchedModel {
  path: string;
  sha256: string;
  size: number;
  /** False when the cache already held the file with the right hash. */
  downloaded: boolean;
}

/**
 * Downloads a model file into the model cache with a SHA-256 check. The body streams to a temporary
 * file beside the destination, hashed on the way; only a matching file is renamed into place, so
 * the cache never holds a partial or wrong model (and a failed download leaves nothing behind).
 * The URL comes from the catalogue or the operator, not from API clients, so private addresses are
 * not refused here.
 */
export async function fetchModel(opts: FetchModelOptions): Promise<FetchedModel> {
  opts.signal?.throwIfAborted();
  const expected = opts.sha256.toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(expected)) throw new MediaflowError('INVALID_REQUEST', 'sha256 must be 64 hexadecimal digits');
  if (!isSafeOutputName(opts.file)) throw new MediaflowError('INVALID_FILENAME', `unsafe model file name ${JSON.stringify(opts.file)}`);
  const dir = modelCacheDir(opts.config);
  const dest = path.join(dir, opts.file);
  const existing = await hashIfPresent(dest);
  if (existing?.sha256 === expected) return { path: dest, sha256: expected, size: existing.size, downloaded: false };

  await mkdir(dir, { recursive: true });
  const part = path.join(dir, `.${opts.file}.${randomBytes(6).toString('hex')}.part`);
  const { connectTimeoutMs, idleTimeoutMs, maxRedirects } = opts.config.network;
  const controller = new AbortController();
  const onAbort = (): void => controller.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let timer = setTimeout(() => controller.abort(new MediaflowError('URL_TIMEOUT', `no answer from ${opts.url} in ${connectTimeoutMs} ms`)), connectTimeoutMs);
  const maxBytes = opts.size ?? opts.config.limits.maxDownloadMb * 1024 * 1024;
  try {
    const res = await fetchFollowing(opts.url, controller.signal, maxRedirects);
    if (!res.ok || !res.body) throw new MediaflowError('URL_HTTP_ERROR', `${opts.url} answered ${res.status} ${res.statusText}`);
    const total = Number(res.headers.get('content-length')) || null;
    if (total !== null && total > maxBytes) throw new MediaflowError('INPUT_TOO_LARGE', `${opts.url} is ${total} bytes, more than the ${maxBytes} expected`);
    const hash = createHash('sha256');
    let received = 0;
    const out = await open(part, 'w');
    try {
      for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
        clearTimeout(timer);
        timer = setTimeout(() => controller.abort(new MediaflowError('URL_TIMEOUT', `${opts.url} stalled for ${idleTimeoutMs} ms`)), idleTimeoutMs);
        received += chunk.length;
        if (received > maxBytes) throw new MediaflowError('INPUT_TOO_LARGE', `${opts.url} sent more than the ${maxBytes} bytes expected`);
        hash.update(chunk);
        await out.write(chunk);
        opts.onProgress?.(received, total);
      }
      await out.sync();
    } finally {
      await out.close();
    }
    const actual = hash.digest('hex');
    if (actual !== expected) {
      throw new MediaflowError('MODEL_CHECKSUM_MISMATCH', `${opts.url}: SHA-256 ${actual}, expected ${expected}`, { details: { url: opts.url, expected, actual, size: received } });
    }
    await rename(part, dest);
    return { path: dest, sha256: actual, size: received, downloaded: true };
  } catch (err) {
    await rm(part, { force: true });
    throw toFetchError(err, opts.url, controller.signal);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
  }
}

/** fetch with redirects counted here, so `network.maxRedirects` holds. */
async function fetchFollowing(url: string, signal: AbortSignal, maxRedirects: number): Promise<Response> {
  let current = url;
  for (let hop = 0; ; hop++) {
    const u = new URL(current);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new MediaflowError('URL_INVALID', `unsupported URL scheme in ${current}`);
    const res = await fetch(current, { redirect: 'manual', signal });
    if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
      if (hop >= maxRedirects) throw new MediaflowError('URL_TOO_MANY_REDIRECTS', `more than ${maxRedirects} redirects from ${url}`);
      await res.body?.cancel();
      current = new URL(res.headers.get('location')!, current).toString();
      continue;
    }
    return res;
  }
}

function toFetchError(err: unknown, url: string, signal: AbortSignal): unknown {
  if (err instanceof MediaflowError) return err;
  if (signal.aborted && signal.reason instanceof MediaflowError) return signal.reason;
  if (signal.aborted) return signal.reason ?? err;
  if (err instanceof TypeError && /invalid url/i.test(err.message)) return new MediaflowError('URL_INVALID', `invalid URL ${url}`, { cause: err });
  return new MediaflowError('URL_UNREACHABLE', `${url} could not be fetched: ${(err as Error).message}`, { cause: err });
}

async function hashIfPresent(file: string): Promise<{ sha256: string; size: number } | null> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch {
    return null;
  }
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return { sha256: hash.digest('hex'), size };
}
