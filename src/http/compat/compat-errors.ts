import type { FastifyReply } from 'fastify';
import type { JobError } from '../../core/job.types.js';
import { ERROR_CATALOGUE, type ErrorCode } from '../../core/errors.js';
import { normaliseError } from '../problem.js';

/**
 * The seeds answered errors as `{"error": "..."}`. Compat routes keep that shape (plus our stable
 * `code`, which old clients ignore) and the seed's status: 400 for bad input, 500 for failures.
 */
export function sendCompatError(reply: FastifyReply, err: unknown, opts: { inputStatus?: number } = {}) {
  const e = normaliseError(err);
  // A missing key is not bad input: 401 tells a client (and a proxy) what to fix.
  const status = e.status >= 500 || e.status === 404 || e.status === 401 ? e.status : opts.inputStatus ?? 400;
  return reply.status(status).send({ error: e.message, code: e.code });
}

/**
 * An ended job's error as the seed's status: input problems → 400, a canceled job → 409 (the
 * client or an operator stopped it: not a server failure), the rest → 500.
 */
export function compatStatusOfJobError(error: JobError | null): number {
  if (error?.code === 'JOB_CANCELED') return 409;
  const entry = error && (ERROR_CATALOGUE as Record<string, { status: number }>)[error.code as ErrorCode];
  return entry && entry.status < 500 && entry.status !== 409 ? 400 : 500;
}
