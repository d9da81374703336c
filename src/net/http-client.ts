import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import { pinnedLookup, resolveAllowed, type UrlGuardOptions } from './url-guard.js';

export interface OpenOptions extends UrlGuardOptions {
  config: AppConfig;
  signal?: AbortSignal;
  /** Extra request headers, sent on every hop (e.g. `Range`). */
  headers?: Record<string, string>;
  /** Redirects followed before URL_TOO_MANY_REDIRECTS (default `config.network.maxRedirects`). */
  maxRedirects?: number;
}

export interface OpenedResponse {
  res: IncomingMessage;
  /** The URL that answered, after redirects. */
  url: URL;
  redirects: number;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** The User-Agent of every request Mediaflow makes; some servers refuse requests without one. */
export const USER_AGENT = 'Mediaflow/0.1';

/**
 * GETs a URL with the SSRF checks applied to every hop: each URL (the first and every redirect
 * target) is resolved and checked, and the connection goes to the checked address through
 * `pinnedLookup`, so the name is never resolved again by the socket. Redirects are followed by
 * hand for that reason. Each request gets its own connection (`agent: false`): a pooled socket
 * would be reused for a later hop without a check.
 *
 * Timeouts: `network.connectTimeoutMs` until the TCP connection is up, then
 * `network.idleTimeoutMs` of socket inactivity, for the headers and for every later read of the
 * body (the timer stays armed on the socket while the caller reads `res`). A timeout destroys the
 * request or the response with a URL_TIMEOUT error, which is what the reader then sees.
 *
 * The response is returned as soon as its headers arrive, whatever its status; the caller reads
 * or destroys it.
 */
export async function openUrl(raw: string | URL, opts: OpenOptions): Promise<OpenedResponse> {
  const maxRedirects = opts.maxRedirects ?? opts.config.network.maxRedirects;
  let current: string | URL = raw;
  for (let hop = 0; ; hop++) {
    opts.signal?.throwIfAborted();
    const target = await resolveAllowed(current, opts.config, opts);
    const res = await requestOnce(target.url, target.addresses, opts);
    const location = res.headers.location;
    if (REDIRECTS.has(res.statusCode ?? 0) && location) {
      res.destroy();
      if (hop >= maxRedirects) {
        throw new MediaflowError('URL_TOO_MANY_REDIRECTS', `More than ${maxRedirects} redirects, the last to ${location}`, { details: { url: target.url.href } });
      }
      try {
        current = new URL(location, target.url);
      } catch {
        throw new MediaflowError('URL_HTTP_ERROR', `The server redirected to an invalid location ${JSON.stringify(location.slice(0, 200))}`);
      }
      continue;
    }
    return { res, url: target.url, redirects: hop };
  }
}

function requestOnce(url: URL, addresses: import('node:dns').LookupAddress[], opts: OpenOptions): Promise<IncomingMessage> {
  const { connectTimeoutMs, idleTimeoutMs } = opts.config.network;
  const mod = url.protocol === 'https:' ? https : http;
  return new Promise<IncomingMessage>((resolve, reject) => {
    let response: IncomingMessage | undefined;
    const req = mod.request(url, {
      method: 'GET',
      agent: false,
      lookup: pinnedLookup(addresses) as never,
      signal: opts.signal,
      headers: { 'user-agent': USER_AGENT, accept: '*/*', 'accept-encoding': 'identity', ...opts.headers },
    });
    const fail = (err: Error) => {
      if (response) response.destroy(err);
      else req.destroy(err);
    };
    req.once('socket', (socket: Socket) => {
      const connectTimer = setTimeout(() => {
        fail(new MediaflowError('URL_TIMEOUT', `Could not connect to ${url.host} within ${connectTimeoutMs} ms`, { details: { url: url.href } }));
      }, connectTimeoutMs);
      const armIdle = () => {
        clearTimeout(connectTimer);
        socket.setTimeout(idleTimeoutMs, () => {
          fail(new MediaflowError('URL_TIMEOUT', `${url.host} sent nothing for ${idleTimeoutMs} ms`, { details: { url: url.href } }));
        });
      };
      if (socket.connecting) socket.once('connect', armIdle);
      else armIdle();
      socket.once('close', () => clearTimeout(connectTimer));
    });
    req.once('response', (res) => {
      response = res;
      resolve(res);
    });
    req.once('error', (err) => reject(classifyNetworkError(err, url, opts.signal)));
    req.end();
  });
}

/**
 * Maps a socket/HTTP error to the catalogue. Cancellation passes through unchanged (the worker
 * reports it as canceled); MediaflowErrors (our own timeouts) pass through too.
 */
export function classifyNetworkError(err: unknown, url: URL, signal?: AbortSignal): unknown {
  if (signal?.aborted) return signal.reason ?? err;
  if (err instanceof MediaflowError) return err;
  const e = err as NodeJS.ErrnoException;
  const code = e?.code ?? '';
  if (e?.name === 'AbortError') return err;
  if (/^(ERR_TLS|CERT_|UNABLE_TO_|DEPTH_ZERO|SELF_SIGNED|ERR_SSL)/.test(code)) {
    return new MediaflowError('URL_UNREACHABLE', `TLS failure with ${url.host}: ${e.message}`, { cause: err, retryable: false, details: { code } });
  }
  if (code.startsWith('HPE_')) {
    return new MediaflowError('URL_UNREACHABLE', `${url.host} sent an invalid HTTP response (${code})`, { cause: err, retryable: false, details: { code } });
  }
  if (code === 'ETIMEDOUT') return new MediaflowError('URL_TIMEOUT', `Connection to ${url.host} timed out`, { cause: err, details: { code } });
  return new MediaflowError('URL_UNREACHABLE', `Could not reach ${url.host}: ${e?.message ?? String(err)}`, { cause: err, details: { code } });
}

/** A URL_HTTP_ERROR for a response status; 5xx and 429 may pass on retry, other statuses will not. */
export function httpStatusError(status: number, url: URL): MediaflowError {
  return new MediaflowError('URL_HTTP_ERROR', `${url.host} answered HTTP ${status} for ${url.pathname}`, {
    retryable: status >= 500 || status === 429 || status === 408,
    details: { status, url: url.href },
  });
}
