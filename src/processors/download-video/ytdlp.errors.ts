import { InputError, MediaflowError, type ErrorCode } from '../../core/errors.js';

/**
 * yt-dlp reports failures as `ERROR: [extractor] id: message` on stderr with exit status 1 for
 * everything. Its wording is stable enough across versions to classify; the order of the tests
 * matters ("Private video. Sign in if you've been granted access" is a sign-in problem, not an
 * unavailable video; a 404 of the page is an unavailable video, not a network failure).
 */
const RULES: Array<{ code: ErrorCode; test: RegExp; retryable?: boolean }> = [
  { code: 'URL_INVALID', test: /is not a valid URL/i },
  { code: 'VIDEO_URL_UNSUPPORTED', test: /Unsupported URL|No video formats found|no suitable InfoExtractor|No media found/i },
  { code: 'INPUT_TOO_LARGE', test: /larger than max-filesize/i },
  { code: 'VIDEO_FORMAT_UNAVAILABLE', test: /Requested format is not available|requested formats? (are|is) not available/i },
  { code: 'VIDEO_SIGN_IN_REQUIRED', test: /sign in|sign-in|log in|login|--cookies|age[- ]restricted|confirm your age|members[- ]only|private video|this video is private|requires authentication|subscriber/i },
  {
    code: 'VIDEO_UNAVAILABLE',
    test: /video unavailable|is unavailable|not available|has been removed|no longer available|does not exist|HTTP Error 40[34]|HTTP Error 410|live event will begin|premieres in|blocked it|copyright|account .*terminated/i,
  },
  { code: 'URL_TIMEOUT', test: /timed out|timeout/i },
  {
    code: 'URL_UNREACHABLE',
    test: /urlopen error|Connection refused|Name or service not known|name resolution|getaddrinfo|Network is unreachable|Connection reset|Remote end closed|Unable to download|HTTP Error 5\d\d|Tunnel connection failed|SSL|certificate|IncompleteRead|Connection aborted/i,
    retryable: true,
  },
  { code: 'URL_HTTP_ERROR', test: /HTTP Error 4\d\d/i },
];

/** The most telling line of yt-dlp's stderr: its last `ERROR:` line, else the last line. */
export function ytDlpErrorLine(stderr: string): string {
  const lines = stderr.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const err = [...lines].reverse().find((l) => l.startsWith('ERROR:'));
  return (err ?? lines.at(-1) ?? 'yt-dlp failed without a message')
    .replace(/^ERROR:\s*/, '')
    // The upstream bug-report boilerplate is noise for a Mediaflow user.
    .replace(/;?\s*please report this issue on\s+https:\/\/github\.com\/yt-dlp\/yt-dlp\/issues.*$/i, '')
    .slice(0, 500);
}

/**
 * Maps a failed yt-dlp run to the catalogue. `proxyFailure` is what the guard proxy refused or
 * could not reach during the run: when present it is the real cause (yt-dlp only sees "HTTP Error
 * 403" or "Tunnel connection failed").
 */
export function mapYtDlpError(stderr: string, proxyFailure?: MediaflowError): MediaflowError {
  if (proxyFailure && (proxyFailure.code === 'URL_FORBIDDEN' || proxyFailure.code === 'URL_INVALID')) return proxyFailure;
  const line = ytDlpErrorLine(stderr);
  const rule = RULES.find((r) => r.test.test(line));
  if (!rule) return new MediaflowError('PROCESSING_FAILED', `yt-dlp: ${line}`);
  if ((rule.code === 'URL_UNREACHABLE' || rule.code === 'URL_TIMEOUT') && proxyFailure) return proxyFailure;
  const retryable = rule.retryable ?? (rule.code === 'URL_TIMEOUT');
  return retryable ? new MediaflowError(rule.code, `yt-dlp: ${line}`, { retryable }) : new InputError(rule.code, `yt-dlp: ${line}`);
}
