import http from 'node:http';

export interface RawResponse {
  /** 0 when no answer came within the time limit. */
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface RawOptions {
  /** Give up (status 0) after this long without the response head. Default 30 s. */
  timeoutMs?: number;
  /** Read at most this many body bytes, then close (event streams never end on their own). */
  maxBodyBytes?: number;
}

/**
 * One HTTP request with the path sent byte for byte as given (fetch and URL normalise `//`, `..`
 * and percent-encoding; a server must be tested against what clients can really send).
 */
export function rawRequest(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: string | Buffer, opts: RawOptions = {}): Promise<RawResponse> {
  const u = new URL(base);
  const maxBody = opts.maxBodyBytes ?? Infinity;
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (r: RawResponse) => { if (!settled) { settled = true; clearTimeout(timer); resolve(r); } };
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers: { connection: 'close', ...headers }, agent: false }, (res) => {
      clearTimeout(timer);
      const chunks: Buffer[] = [];
      let size = 0;
      const done = () => finish({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      // A streaming answer (SSE) is judged on its head and first bytes.
      const streaming = String(res.headers['content-type'] ?? '').startsWith('text/event-stream');
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        size += c.length;
        if (size >= maxBody || streaming) { done(); req.destroy(); }
      });
      res.on('end', done);
      res.on('error', () => done());
      if (streaming) setTimeout(() => { done(); req.destroy(); }, 200).unref();
    });
    const timer = setTimeout(() => { finish({ status: 0, headers: {}, body: '' }); req.destroy(); }, opts.timeoutMs ?? 30_000);
    req.on('error', (err) => { if (!settled) { settled = true; clearTimeout(timer); reject(err); } });
    req.end(body);
  });
}
