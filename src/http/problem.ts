import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ERROR_CATALOGUE, MediaflowError, isMediaflowError, toMediaflowError, type ErrorCode } from '../core/errors.js';

/**
 * The one mapper from anything thrown to a MediaflowError: ours pass through; Fastify's own
 * (validation, body too large, multipart limits, bad JSON) get our stable codes.
 */
export function normaliseError(err: unknown): MediaflowError {
  if (isMediaflowError(err)) return err;
  const e = err as FastifyError & { validation?: unknown[] };
  const byFastifyCode: Record<string, ErrorCode> = {
    FST_REQ_FILE_TOO_LARGE: 'INPUT_TOO_LARGE',
    FST_ERR_CTP_BODY_TOO_LARGE: 'INPUT_TOO_LARGE',
    FST_PARTS_LIMIT: 'INVALID_REQUEST',
    FST_FILES_LIMIT: 'INVALID_REQUEST',
    FST_FIELDS_LIMIT: 'INVALID_REQUEST',
    FST_INVALID_MULTIPART_CONTENT_TYPE: 'INVALID_REQUEST',
    FST_ERR_CTP_INVALID_MEDIA_TYPE: 'INPUT_UNSUPPORTED_TYPE',
    FST_ERR_CTP_EMPTY_JSON_BODY: 'INVALID_REQUEST',
    FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'INVALID_REQUEST',
  };
  const mapped = e?.code ? byFastifyCode[e.code] : undefined;
  if (mapped) return new MediaflowError(mapped, e.message);
  if (e?.validation) return new MediaflowError('INVALID_REQUEST', e.message);
  if (e instanceof SyntaxError || e?.code === 'FST_ERR_CTP_INVALID_JSON_BODY') return new MediaflowError('INVALID_REQUEST', `The body is not valid JSON: ${e.message}`);
  if (typeof e?.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code: ErrorCode = e.statusCode === 404 ? 'NOT_FOUND' : e.statusCode === 413 ? 'INPUT_TOO_LARGE' : e.statusCode === 415 ? 'INPUT_UNSUPPORTED_TYPE' : 'INVALID_REQUEST';
    return new MediaflowError(code, e.message);
  }
  return toMediaflowError(err);
}

/** RFC 9457 problem details with our stable `code`. */
export function problemBody(err: MediaflowError, instance?: string) {
  return {
    type: `https://mediaflow.dev/errors/${err.code.toLowerCase().replace(/_/g, '-')}`,
    title: ERROR_CATALOGUE[err.code].title,
    status: err.status,
    code: err.code,
    detail: err.message,
    ...(instance ? { instance } : {}),
    ...(err.details ? { details: err.details } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, raw: unknown) {
  const err = normaliseError(raw);
  if (err.status >= 500) request.log.error({ err: raw }, err.message);
  return reply.status(err.status).type('application/problem+json').send(problemBody(err, request.url));
}
