import { parse as parseContentDisposition } from 'content-disposition';
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
