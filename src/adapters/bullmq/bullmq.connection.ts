import { Redis } from 'ioredis';
import { MediaflowError } from '../../core/errors.js';

/** Errors that mean "Redis is not there right now" rather than "this command is wrong". */
const CONNECTION_ERROR = /Connection is closed|Stream isn't writeable|enableOfflineQueue|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|ENOTCONN|EHOSTUNREACH|Command timed out|LOADING|Reached the max retries/i;

export function isUnavailable(err: unknown): boolean {
  return err instanceof MediaflowError && err.code === 'QUEUE_UNAVAILABLE';
}

export interface RedisLinkOptions {
  url: string;
  /** An operation still unanswered after this long fails with QUEUE_UNAVAILABLE (a hung Redis). */
  opTimeoutMs?: number;
}

/**
 * The one ioredis connection a queue adapter shares between its BullMQ queues and workers (BullMQ
 * duplicates it where it needs a connection of its own). It fails fast while Redis is away and
 * reconnects by itself for ever, telling listeners when it is back so that the reconciler can put
 * back the jobs a Redis restarted without persistence has forgotten.
 */
export class RedisLink {
  readonly client: Redis;
  private readonly opTimeoutMs: number;
  private readyBefore = false;
  private readonly reconnectListeners = new Set<() => void>();

  constructor(opts: RedisLinkOptions) {
    this.opTimeoutMs = opts.opTimeoutMs ?? 5000;
    this.client = new Redis(opts.url, {
      // BullMQ requires it: a blocking command must never be abandoned after N retries.
      maxRetriesPerRequest: null,
      // While Redis is unreachable, commands fail at once instead of queueing in memory until it
      // returns: an API request gets a 503 now rather than a hang (BullMQ's "failing fast" pattern).
      enableOfflineQueue: false,
      // Reconnect for ever, quickly at first and then every 2 s.
      retryStrategy: (times) => Math.min(100 * times, 2000),
    });
    // Failures surface through the operations (as QUEUE_UNAVAILABLE); an unhandled 'error' event
    // would crash the process.
    this.client.on('error', () => {});
    this.client.on('ready', () => {
      if (this.readyBefore) for (const l of this.reconnectListeners) l();
      this.readyBefore = true;
    });
  }

  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Resolves once connected (the first time); QUEUE_UNAVAILABLE after `timeoutMs`. */
  async waitReady(timeoutMs = this.opTimeoutMs): Promise<void> {
    if (this.ready) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => { this.client.off('ready', ok); reject(unavailable('connect')); }, timeoutMs);
      const ok = () => { clearTimeout(t); resolve(); };
      this.client.once('ready', ok);
    });
  }

  /** Called each time the connection is ready again after it was lost. */
  onReconnect(listener: () => void): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  /**
   * Runs one Redis-side operation: QUEUE_UNAVAILABLE (503) at once when disconnected, when the
   * connection drops under it, or when Redis does not answer within the operation timeout.
   */
  async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.ready) throw unavailable(what);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        fn(),
        new Promise<never>((_, reject) => { timer = setTimeout(() => reject(unavailable(what)), this.opTimeoutMs); }),
      ]);
    } catch (err) {
      if (err instanceof MediaflowError) throw err;
      if (!this.ready || CONNECTION_ERROR.test(String((err as Error)?.message ?? err))) throw unavailable(what, err);
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.reconnectListeners.clear();
    this.client.disconnect();
  }
}

function unavailable(what: string, cause?: unknown): MediaflowError {
  return new MediaflowError('QUEUE_UNAVAILABLE', `The job queue (Redis) cannot be reached (${what})`, cause === undefined ? undefined : { cause });
}
