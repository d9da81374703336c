import contentDisposition, { parse as parseContentDisposition } from 'content-disposition';
import { safeFileName } from '../util/safe-name.js';

/**
 * The file name a download should get: the `Content-Disposition` filename (RFC 6266; `filename*`
 * wins over `filename`, as the RFC says), else the last segment of the URL's path, else
 * `fallback`; always normalised by `safeFileName`, so "../../etc/passwd" becomes "passwd".
 */
export function downloadFileName(contentDisposition: string | undefined, url: URL, fallback = 'download'): string {
  if (contentDisposition) {
    try {
      const { parameters } = parseContentDisposition(contentDisposition);
      const name = parameters.filename;
      if (name && safeFileName(name, '')) return safeFileName(name, fallback);
    } catch {
      // A malformed header is common enough in the wild; fall back to the URL.
    }
  }
  const last = url.pathname.split('/').filter(Boolean).pop();
  if (last) {
    let decoded = last;
    try {
      decoded = decodeURIComponent(last);
    } catch {
      // Keep the raw segment when it is not valid percent-encoding.
    }
    const name = safeFileName(decoded, '');
    if (name) return name;
  }
  return fallback;
}

/**
 * A `Content-Disposition` header for a file we serve: the name as `filename*` (UTF-8, RFC 5987)
 * whenever it is not plain ASCII, with an ASCII `filename` beside it for old clients (a Latin-1
 * name in a quoted string would reach some clients as mojibake).
 */
export function contentDispositionHeader(name: string, type: 'attachment' | 'inline'): string {
  return contentDisposition(name, { type, fallback: name.replace(/[^\x20-\x7e]/g, '_') });
}
