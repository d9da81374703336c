/**
 * The one error catalogue. Every error a client can see has a stable `code`, an HTTP status and
 * whether a job that failed with it may be retried. Routes, the job service and processors all
 * throw `MediaflowError`s built from here; one mapper (src/http/problem.ts) turns them into
 * `application/problem+json` on /v1 and into each seed's own shape on the compat routes.
 *
 * Add a code here rather than inventing one at the throw site: codes are part of the public API.
 */
export const ERROR_CATALOGUE = {
  // --- request / input ---
  INPUT_MISSING: { status: 400, retryable: false, title: 'No input was given' },
  INPUT_EMPTY: { status: 400, retryable: false, title: 'The input file is empty' },
  INPUT_UNSUPPORTED_TYPE: { status: 415, retryable: false, title: 'The input type is not supported by this processor' },
  INPUT_CORRUPT: { status: 400, retryable: false, title: 'The input could not be decoded' },
  INPUT_TOO_LARGE: { status: 413, retryable: false, title: 'The input is larger than the configured limit' },
  IMAGE_TOO_LARGE: { status: 413, retryable: false, title: 'The image has more pixels than the configured limit' },
  AUDIO_TOO_LONG: { status: 413, retryable: false, title: 'The audio is longer than the configured limit' },
  INVALID_BASE64: { status: 400, retryable: false, title: 'The base64 input is not valid' },
  INVALID_REQUEST: { status: 400, retryable: false, title: 'The request is not valid' },
  INVALID_FILENAME: { status: 400, retryable: false, title: 'The file name is not acceptable' },
  PARAMS_INVALID: { status: 400, retryable: false, title: 'The processor parameters are not valid' },
  PROCESSOR_UNKNOWN: { status: 404, retryable: false, title: 'No such processor' },
  OCR_LANG_UNAVAILABLE: { status: 400, retryable: false, title: 'The OCR language data is not installed' },
  // --- URLs ---
  URL_INVALID: { status: 400, retryable: false, title: 'The URL is not valid' },
  URL_FORBIDDEN: { status: 403, retryable: false, title: 'The URL points to an address that is not allowed' },
  URL_UNREACHABLE: { status: 502, retryable: true, title: 'The URL could not be reached' },
  URL_HTTP_ERROR: { status: 502, retryable: false, title: 'The remote server answered with an error' },
  URL_TIMEOUT: { status: 504, retryable: true, title: 'The remote server did not answer in time' },
  URL_TOO_MANY_REDIRECTS: { status: 502, retryable: false, title: 'Too many redirects' },
  WEBHOOK_URL_INVALID: { status: 400, retryable: false, title: 'The webhook URL is not an http(s) URL the address policy allows' },
  VIDEO_URL_UNSUPPORTED: { status: 422, retryable: false, title: 'No video was found at this URL (not a page of a supported site, nor a media file)' },
  VIDEO_UNAVAILABLE: { status: 404, retryable: false, title: 'The video is unavailable (removed, private, region-blocked or not started)' },
  VIDEO_SIGN_IN_REQUIRED: { status: 403, retryable: false, title: 'The site requires sign-in for this video (configure tools.ytDlpCookies)' },
  VIDEO_FORMAT_UNAVAILABLE: { status: 422, retryable: false, title: 'The video has no format matching the requested quality or container' },
  // --- jobs ---
  JOB_NOT_FOUND: { status: 404, retryable: false, title: 'No such job' },
  JOB_NOT_CANCELABLE: { status: 409, retryable: false, title: 'The job has already ended' },
  JOB_NOT_RETRYABLE: { status: 409, retryable: false, title: 'Only failed or canceled jobs can be retried' },
  JOB_CANCELED: { status: 409, retryable: false, title: 'The job was canceled' },
  JOB_TIMEOUT: { status: 500, retryable: true, title: 'The job took longer than its timeout' },
  WORKER_CRASHED: { status: 500, retryable: true, title: 'The worker running the job stopped unexpectedly' },
  OUTPUT_NOT_FOUND: { status: 404, retryable: false, title: 'No such output' },
  IDEMPOTENCY_CONFLICT: { status: 422, retryable: false, title: 'The Idempotency-Key was used for a different request' },
  UPSTREAM_UNKNOWN: { status: 400, retryable: false, title: 'No job with this id to take the input from' },
  UPSTREAM_OUTPUT_MISSING: { status: 422, retryable: false, title: 'The job this one takes its input from has no output of that name' },
  UPSTREAM_FAILED: { status: 424, retryable: false, title: 'The job this one takes its input from failed or was canceled' },
  JOB_STILL_STOPPING: { status: 409, retryable: false, title: 'The job was asked to stop and has not stopped yet; try again' },
  LEASE_LOST: { status: 409, retryable: true, title: 'The worker no longer holds the job (its lease expired and another worker took it)' },
  // --- server ---
  UNAUTHORIZED: { status: 401, retryable: false, title: 'A valid API key is required' },
  NOT_FOUND: { status: 404, retryable: false, title: 'Not found' },
  MODEL_MISSING: { status: 503, retryable: false, title: 'A model file the processor needs is missing' },
  MODEL_INVALID: { status: 500, retryable: false, title: 'The model does not have the inputs and outputs its configured format needs' },
  MODEL_CHECKSUM_MISMATCH: { status: 502, retryable: false, title: 'The downloaded model does not match its expected SHA-256' },
  MODEL_UNKNOWN: { status: 404, retryable: false, title: 'No such model in the catalogue' },
  TOOL_MISSING: { status: 503, retryable: false, title: 'An external program the processor needs is missing' },
  QUEUE_UNAVAILABLE: { status: 503, retryable: true, title: 'The job queue (Redis) cannot be reached; try again shortly' },
  STORAGE_FULL: { status: 507, retryable: true, title: 'There is no space left to store the data' },
  STORE_UNAVAILABLE: { status: 503, retryable: true, title: 'The job database cannot be reached' },
  BLOB_STORE_UNAVAILABLE: { status: 503, retryable: true, title: 'The object store (S3) could not be reached or refused the request' },
  PROCESSING_FAILED: { status: 500, retryable: false, title: 'The processor could not produce a result' },
  INTERNAL: { status: 500, retryable: true, title: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** A failure with a stable code. `retryable` defaults to the catalogue's value for the code. */
export class MediaflowError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown>; retryable?: boolean }) {
    const entry = ERROR_CATALOGUE[code];
    super(message ?? entry.title, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MediaflowError';
    this.code = code;
    this.status = entry.status;
    this.retryable = options?.retryable ?? entry.retryable;
    this.details = options?.details;
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return { code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/**
 * An expected failure caused by the input (bad file, unsupported format, bad param): never retried.
 * The equivalent of BullMQ's `UnrecoverableError`.
 */
export class InputError extends MediaflowError {
  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(code, message, { ...options, retryable: false });
    this.name = 'InputError';
  }
}

export function isMediaflowError(err: unknown): err is MediaflowError {
  return err instanceof MediaflowError;
}

/** Turns anything thrown into a MediaflowError; unknown faults become INTERNAL (retryable). */
export function toMediaflowError(err: unknown): MediaflowError {
  if (err instanceof MediaflowError) return err;
  const e = err as NodeJS.ErrnoException | undefined;
  // SQLite reports a full disk as SQLITE_FULL (better-sqlite3 puts it in `code`), the OS as ENOSPC.
  if (e?.code === 'ENOSPC' || e?.code === 'SQLITE_FULL') return new MediaflowError('STORAGE_FULL', 'No space left on the device', { cause: err });
  if (e?.name === 'AbortError') return new MediaflowError('JOB_CANCELED', 'The job was canceled', { cause: err });
  return new MediaflowError('INTERNAL', e?.message ? String(e.message) : String(err), { cause: err });
}
