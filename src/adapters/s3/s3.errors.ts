import { MediaflowError, toMediaflowError } from '../../core/errors.js';

interface SdkError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
}

// Socket-level failures: the server is down, restarting or unreachable.
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const DENIED = new Set(['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken', 'ExpiredToken']);

/**
 * The socket-level code of a failure, looked for in the error itself, its causes and, for an
 * AggregateError (several addresses tried), its errors: the SDK and lib-storage wrap what the
 * socket said.
 */
function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 4) return undefined;
  const e = err as SdkError & { cause?: unknown; errors?: unknown[] };
  if (e.code && NETWORK.has(e.code)) return e.code;
  for (const inner of [e.cause, ...(Array.isArray(e.errors) ? e.errors : [])]) {
    const code = networkCode(inner, depth + 1);
    if (code) return code;
  }
  return undefined;
}

export function statusOf(err: unknown): number | undefined {
  return (err as SdkError | undefined)?.$metadata?.httpStatusCode;
}

export function isNotFound(err: unknown): boolean {
  const e = err as SdkError | undefined;
  return statusOf(err) === 404 || e?.name === 'NotFound' || e?.name === 'NoSuchKey';
}

/**
 * Maps an S3 client failure to the error catalogue. An unreachable or failing server (network
 * errors, 5xx) is BLOB_STORE_UNAVAILABLE and retryable: a job that hit it may run again once the
 * store is back. Refused credentials and a missing bucket are the same code, not retryable: they
 * need an operator, not another attempt.
 */
export function s3Error(err: unknown, bucket: string): MediaflowError {
  if (err instanceof MediaflowError) return err;
  const e = (err ?? {}) as SdkError;
  if (e.name === 'AbortError') return toMediaflowError(err);
  const status = statusOf(err);
  const network = networkCode(err);
  const detail = network ?? e.code ?? e.name ?? 'error';
  if (network || e.name === 'TimeoutError' || (status !== undefined && status >= 500)) {
    return new MediaflowError('BLOB_STORE_UNAVAILABLE', `The S3 store could not be reached (${detail}: ${e.message ?? ''})`, { cause: err, details: { s3: detail } });
  }
  if (status === 403 || (e.name && DENIED.has(e.name))) {
    return new MediaflowError('BLOB_STORE_UNAVAILABLE', `The S3 store refused the credentials (${detail})`, { cause: err, retryable: false, details: { s3: detail } });
  }
  if (e.name === 'NoSuchBucket') {
    return new MediaflowError('BLOB_STORE_UNAVAILABLE', `The S3 bucket ${bucket} does not exist (\`mediaflow migrate\` creates it)`, { cause: err, retryable: false, details: { s3: detail } });
  }
  return toMediaflowError(err);
}
