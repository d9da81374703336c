import postgres from 'postgres';
import { MediaflowError } from '../../core/errors.js';

/** Socket-level failures (Node) and the driver's own connection errors. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOENT',
  'CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT',
]);

/**
 * SQLSTATEs meaning "the server is not there right now" rather than "this statement is wrong":
 * class 08 (connection exception), 57P01..57P03 (shut down by an administrator or a crash, still
 * starting up), 53300 (too many connections).
 */
function isUnavailableState(state: string): boolean {
  return state.startsWith('08') || state === '57P01' || state === '57P02' || state === '57P03' || state === '53300';
}

/** An error the server answered (a SQLSTATE), as opposed to one raised on the client side. */
export function hasSqlState(err: unknown): boolean {
  return err instanceof postgres.PostgresError;
}

export function isPostgresUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  const code = typeof e.code === 'string' ? e.code : typeof e.errno === 'string' ? e.errno : '';
  return CONNECTION_CODES.has(code) || (hasSqlState(err) && isUnavailableState(code));
}

/**
 * A database outage becomes STORE_UNAVAILABLE (HTTP 503, retryable): the API tells clients to come
 * back, a worker keeps its job and tries again. Anything else is a bug or a constraint and passes
 * through unchanged. The driver reconnects by itself on the next query once the server is back.
 */
export function toStoreError(err: unknown): unknown {
  if (err instanceof MediaflowError || !isPostgresUnavailable(err)) return err;
  const message = (err as Error).message || String(err);
  return new MediaflowError('STORE_UNAVAILABLE', `PostgreSQL is unavailable: ${message}`, { cause: err });
}

/** Runs one adapter call, translating an outage into STORE_UNAVAILABLE. */
export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toStoreError(err);
  }
}
