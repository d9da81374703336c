import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError, toMediaflowError } from '../core/errors.js';
import { classifyNetworkError } from './http-client.js';
import { pinnedLookup, resolveAllowed, type UrlGuardOptions } from './url-guard.js';

export interface GuardProxyOptions extends UrlGuardOptions {
  config: AppConfig;
}

export interface GuardProxy {
  /** `http://127.0.0.1:<port>`: what to give yt-dlp's `--proxy` or ffmpeg's `-http_proxy`. */
  url: string;
  /** Connections the proxy refused or could not make, oldest first: the real cause behind a program's vague error. */
  readonly failures: ReadonlyArray<{ target: string; error: MediaflowError }>;
  close(): Promise<void>;
}

// Hop-by-hop headers (RFC 9110 §7.6.1) are for one connection and are not forwarded.
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'transfer-encoding', 'upgrade']);

function endToEndHeaders(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const listed = new Set(String(headers.connection ?? '').toLowerCase().split(',').map((s) => s.trim()).filter(Boolean));
  const out: http.OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined && !HOP_BY_HOP.has(k) && !listed.has(k)) out[k] = v;
  }
  return out;
}

function statusFor(err: MediaflowError): number {
  return err.code === 'URL_FORBIDDEN' ? 403 : err.code === 'URL_INVALID' ? 400 : err.code === 'URL_TIMEOUT' ? 504 : 502;
}

/**
 * A forward HTTP proxy on 127.0.0.1 that applies the SSRF policy to every connection an external
 * program makes. yt-dlp and ffmpeg fetch pages, redirects, playlists and segments on their own,
 * so checking only the URL we hand them would let a redirect or a playlist entry reach
 * 169.254.169.254. Pointed at this proxy (`--proxy`, `-http_proxy`), each of their requests is
 * resolved, checked and pinned here exactly like `downloadToFile`'s: plain http in absolute form,
 * https through CONNECT (the TLS stays end to end; the proxy sees only host and port).
 *
 * One proxy per job, closed when the job ends.
 */
export async function startGuardProxy(opts: GuardProxyOptions): Promise<GuardProxy> {
  const { connectTimeoutMs, idleTimeoutMs } = opts.config.network;
  const failures: Array<{ target: string; error: MediaflowError }> = [];
  const sockets = new Set<Duplex>();
  const track = (s: Duplex) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  };
  const record = (target: string, err: unknown): MediaflowError => {
    const error = toMediaflowError(err);
    failures.push({ target, error });
    if (failures.length > 50) failures.shift();
    return error;
  };

  const server = http.createServer((req: IncomingMessage, res: ServerResponse) => {
    void forward(req, res);
  });
  server.on('connection', track);

  async function forward(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '';
    const refuse = (err: MediaflowError) => {
      if (!res.headersSent) res.writeHead(statusFor(err), { 'content-type': 'text/plain', connection: 'close' });
      res.end(`${err.code}: ${err.message}\n`);
    };
    if (!/^http:\/\//i.test(target)) {
      refuse(record(target, new MediaflowError('URL_INVALID', 'The proxy only forwards absolute http:// requests (https goes through CONNECT)')));
      return;
    }
    let checked;
    try {
      checked = await resolveAllowed(target, opts.config, opts);
    } catch (err) {
      refuse(record(target, err));
      return;
    }
    const upstream = http.request(checked.url, {
      method: req.method,
      headers: endToEndHeaders(req.headers),
      agent: false,
      lookup: pinnedLookup(checked.addresses) as never,
      timeout: connectTimeoutMs,
    });
    upstream.once('socket', (s: Socket) => s.once('connect', () => s.setTimeout(idleTimeoutMs)));
    upstream.on('timeout', () => upstream.destroy(new MediaflowError('URL_TIMEOUT', `${checked.url.host} did not answer in time`)));
    upstream.on('error', (err) => {
      const e = record(target, classifyNetworkError(err, checked.url));
      if (!res.headersSent) refuse(e);
      else res.destroy();
    });
    upstream.on('response', (up) => {
      res.writeHead(up.statusCode ?? 502, up.statusMessage, endToEndHeaders(up.headers));
      up.pipe(res);
      up.on('error', () => res.destroy());
    });
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  server.on('connect', (req: IncomingMessage, client: Duplex, head: Buffer) => {
    void tunnel(req.url ?? '', client, head);
  });

  async function tunnel(authority: string, client: Duplex, head: Buffer): Promise<void> {
    const refuse = (err: MediaflowError) => {
      client.end(`HTTP/1.1 ${statusFor(err)} ${err.code}\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n${err.message}\n`);
    };
    client.on('error', () => undefined);
    let checked;
    // host:port, the host a name, an IPv4 address or a bracketed IPv6 address.
    const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]/@\s]+):(\d{1,5})$/.exec(authority);
    const port = Number(m?.[2]);
    try {
      if (!m || port < 1 || port > 65535) throw new MediaflowError('URL_INVALID', `CONNECT needs host:port, got ${JSON.stringify(authority.slice(0, 200))}`);
      checked = await resolveAllowed(`http://${m[1]}/`, opts.config, opts);
    } catch (err) {
      refuse(record(authority, err));
      return;
    }
    const upstream = net.connect({ host: checked.url.hostname.replace(/^\[|\]$/g, ''), port, lookup: pinnedLookup(checked.addresses) as never });
    track(upstream);
    const timer = setTimeout(() => upstream.destroy(new MediaflowError('URL_TIMEOUT', `Could not connect to ${authority} within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    let connected = false;
    upstream.once('error', (err) => {
      clearTimeout(timer);
      const e = record(authority, classifyNetworkError(err, checked.url));
      // Before the 200 the client still speaks HTTP to us; after it, the socket carries its TLS.
      if (!connected) refuse(e);
      else client.destroy();
    });
    upstream.once('connect', () => {
      connected = true;
      clearTimeout(timer);
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length) upstream.write(head);
      upstream.setTimeout(idleTimeoutMs, () => upstream.destroy());
      upstream.pipe(client);
      client.pipe(upstream);
      upstream.once('close', () => client.destroy());
      client.once('close', () => upstream.destroy());
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    failures,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
