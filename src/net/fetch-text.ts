import { InputError } from '../core/errors.js';
import { classifyNetworkError, httpStatusError, openUrl, type OpenOptions } from './http-client.js';

export interface FetchedText {
  text: string;
  /** The URL that answered, after redirects (relative references in the text resolve against it). */
  url: URL;
  contentType: string | undefined;
}

/**
 * GETs a small text document (a playlist, a manifest) into memory with the same SSRF checks,
 * redirects and timeouts as `downloadToFile`. Refuses bodies over `maxBytes` (default 2 MiB).
 */
export async function fetchText(url: string | URL, opts: OpenOptions & { maxBytes?: number }): Promise<FetchedText> {
  const maxBytes = opts.maxBytes ?? 2 * 1048576;
  const { res, url: at } = await openUrl(url, opts);
  const status = res.statusCode ?? 0;
  if (status < 200 || status >= 300) {
    res.destroy();
    throw httpStatusError(status, at);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > maxBytes) {
        res.destroy();
        throw new InputError('INPUT_TOO_LARGE', `${at.href} is larger than ${maxBytes} bytes, too large for a playlist`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    throw err instanceof InputError ? err : classifyNetworkError(err, at, opts.signal);
  }
  return { text: Buffer.concat(chunks).toString('utf8'), url: at, contentType: res.headers['content-type'] };
}
