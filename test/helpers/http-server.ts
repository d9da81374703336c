import { createCipheriv, createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

/**
 * A small HTTP server for download tests, on 127.0.0.1 and a free port. Routes serve in-memory
 * bodies (with Range, ETag, Content-Disposition, and misbehaviours: dropping the connection,
 * stalling, chunked bodies without a length), redirects, plain statuses, or a folder of files.
 */
export interface FileRoute {
  kind: 'file';
  body: Buffer;
  contentType?: string;
  contentDisposition?: string;
  etag?: string;
  /** Honour `Range` (default true). */
  ranges?: boolean;
  /** Send the body chunked, without Content-Length. */
  chunked?: boolean;
  /** The first `dropTimes` full-body responses (default 1) are cut after this many bytes, by destroying the socket. */
  dropAfter?: number;
  dropTimes?: number;
  /** Send the body up to this offset, then nothing more (the socket stays open; a resume past it gets nothing either). */
  stallAfter?: number;
  /** Never answer at all (headers never sent). */
  stallHeaders?: boolean;
}
export interface RedirectRoute { kind: 'redirect'; to: string; status?: number }
export interface StatusRoute { kind: 'status'; status: number; body?: string }
export interface DirRoute { kind: 'dir'; dir: string }
export type Route = FileRoute | RedirectRoute | StatusRoute | DirRoute;

export interface SeenRequest { method: string; url: string; headers: http.IncomingHttpHeaders }

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  routes: Map<string, Route>;
  requests: SeenRequest[];
  route(pathname: string, r: Route): string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.m3u8': 'application/vnd.apple.mpegurl', '.ts': 'video/mp2t', '.mp4': 'video/mp4', '.m4s': 'video/iso.segment',
  '.html': 'text/html; charset=utf-8', '.txt': 'text/plain', '.m4a': 'audio/mp4',
};

/** Deterministic pseudo-random bytes (an AES-CTR key stream): a test file with no repeats to hide a wrong offset. */
export function patternBytes(size: number, seed = 1): Buffer {
  const key = createHash('sha256').update(`pattern:${seed}`).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

export function sha256(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

function sendFile(req: IncomingMessage, res: ServerResponse, r: FileRoute, served: Map<FileRoute, number>): void {
  if (r.stallHeaders) return; // leave the request hanging
  const size = r.body.length;
  const headers: http.OutgoingHttpHeaders = { 'content-type': r.contentType ?? 'application/octet-stream' };
  if (r.contentDisposition) headers['content-disposition'] = r.contentDisposition;
  if (r.etag) headers.etag = r.etag;
  let start = 0;
  let status = 200;
  const m = /^bytes=(\d+)-$/.exec(String(req.headers.range ?? ''));
  const ifRange = req.headers['if-range'];
  if ((r.ranges ?? true) && m && (!ifRange || ifRange === r.etag)) {
    start = Number(m[1]);
    if (start >= size) {
      res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      return;
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${size - 1}/${size}`;
  }
  if (r.ranges ?? true) headers['accept-ranges'] = 'bytes';
  if (!r.chunked) headers['content-length'] = size - start;
  res.writeHead(status, headers);
  const n = served.get(r) ?? 0;
  served.set(r, n + 1);
  if (r.dropAfter !== undefined && start === 0 && n < (r.dropTimes ?? 1)) {
    res.write(r.body.subarray(0, r.dropAfter), () => setTimeout(() => req.socket.destroy(), 20));
    return;
  }
  if (r.stallAfter !== undefined) {
    if (r.stallAfter > start) res.write(r.body.subarray(start, r.stallAfter));
    return;
  }
  // Written in 256 KiB pieces so that a slow reader sees a real stream.
  let off = start;
  const pump = () => {
    while (off < size) {
      const piece = r.body.subarray(off, Math.min(size, off + 262144));
      off += piece.length;
      if (!res.write(piece)) {
        res.once('drain', pump);
        return;
      }
    }
    res.end();
  };
  pump();
}

async function sendDir(pathname: string, prefix: string, r: DirRoute, res: ServerResponse): Promise<void> {
  const rel = decodeURIComponent(pathname.slice(prefix.length)).replace(/^\/+/, '');
  const file = path.resolve(r.dir, rel);
  if (!file.startsWith(path.resolve(r.dir) + path.sep)) {
    res.writeHead(403).end();
    return;
  }
  try {
    const st = await stat(file);
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-cache' });
    createReadStream(file).on('error', () => res.destroy()).pipe(res);
  } catch {
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  }
}

export async function startTestServer(): Promise<TestServer> {
  const routes = new Map<string, Route>();
  const requests: SeenRequest[] = [];
  const served = new Map<FileRoute, number>();
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers });
    const pathname = new URL(req.url ?? '/', 'http://x').pathname;
    let r = routes.get(pathname);
    let prefix = pathname;
    if (!r) {
      for (const [p, route] of routes) {
        if (route.kind === 'dir' && pathname.startsWith(p.endsWith('/') ? p : `${p}/`)) { r = route; prefix = p; break; }
      }
    }
    if (!r) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    switch (r.kind) {
      case 'file': sendFile(req, res, r, served); break;
      case 'redirect': res.writeHead(r.status ?? 302, { location: r.to }).end(); break;
      case 'status': res.writeHead(r.status, { 'content-type': 'text/plain' }).end(r.body ?? ''); break;
      case 'dir': void sendDir(pathname, prefix, r, res); break;
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const origin = `http://127.0.0.1:${port}`;
  return {
    origin,
    port,
    routes,
    requests,
    route(pathname, r) {
      routes.set(pathname, r);
      return origin + pathname;
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
