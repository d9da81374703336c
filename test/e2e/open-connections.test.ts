import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { rmSync } from 'node:fs';
import { json, spawnServer, startServer, submit, tempDir, type InProcessServer } from '../helpers/server.js';

const KEY = 'secret-key-1';

/**
 * Sends a request head announcing a large body, then only `sent` bytes of it, and never the rest.
 * Resolves with what came back and whether the server closed the connection within `waitMs`.
 */
function stalledUpload(url: string, path: string, headers: Record<string, string>, announced: number, sent: Buffer, waitMs = 8_000): Promise<{ response: string; closedByServer: boolean }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname);
    let response = '';
    const timer = setTimeout(() => { socket.destroy(); resolve({ response, closedByServer: false }); }, waitMs);
    socket.on('data', (d) => { response += d.toString('latin1'); });
    socket.on('close', () => { clearTimeout(timer); resolve({ response, closedByServer: true }); });
    socket.on('error', () => undefined); // a reset after the answer is a close too
    socket.on('connect', () => {
      const head = Object.entries({ host: u.host, 'content-length': String(announced), ...headers }).map(([k, v]) => `${k}: ${v}`).join('\r\n');
      socket.write(`POST ${path} HTTP/1.1\r\n${head}\r\n\r\n`);
      socket.write(sent);
    });
    setTimeout(() => reject(new Error('no answer at all')), waitMs + 2_000).unref();
  });
}

function multipartStart(boundary: string, bytes: number): Buffer {
  return Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="processor"\r\n\r\nocr\r\n--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\nContent-Type: image/png\r\n\r\n`),
    Buffer.alloc(bytes, 1),
  ]);
}

describe('an answer given before the body was read closes the connection', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ apiKeys: [KEY], uploadLimitMb: 1 }, { worker: false }); });
  after(async () => { await s.close(); });

  test('401 on an upload without a key', async () => {
    const r = await stalledUpload(s.url, '/v1/jobs', { 'content-type': 'application/json' }, 50_000_000, Buffer.from('{"processor":"ocr","input":{"base64":"'));
    assert.match(r.response, /^HTTP\/1\.1 401 /);
    assert.match(r.response, /\r\nconnection: close\r\n/i);
    assert.ok(r.closedByServer, 'the server closed the half-read connection');
  });

  test('413 when the upload passes the limit, the rest never sent', async () => {
    const b = 'BoUnDaRy';
    const r = await stalledUpload(s.url, '/v1/jobs', { 'content-type': `multipart/form-data; boundary=${b}`, authorization: `Bearer ${KEY}` }, 20_000_000, multipartStart(b, 2 * 1024 * 1024));
    assert.match(r.response, /^HTTP\/1\.1 413 /);
    assert.match(r.response, /INPUT_TOO_LARGE/);
    assert.ok(r.closedByServer, 'the server closed the half-read connection');
  });
});

describe('serve stops within its deadline whatever is open', () => {
  test('a stalled upload and a client waiting on a long job do not hold up SIGTERM', async () => {
    const data = tempDir();
    const server = await spawnServer(data, {}, ['--allow-private']);
    try {
      // A client waiting (Prefer: wait) for a job that runs ten minutes.
      const job = await json(await submit(server.url, { processor: 'sleep', params: { ms: 600_000 }, input: { url: 'http://127.0.0.1:9/' } }));
      const waiting = fetch(`${server.url}/v1/jobs/${job.id}`, { headers: { prefer: 'wait=600' } }).catch(() => null);
      const waitingSubmit = submit(server.url, { processor: 'sleep', params: { ms: 600_001 }, input: { url: 'http://127.0.0.1:9/' } }, { prefer: 'wait=600' }).catch(() => null);
      // An upload whose client stopped sending halfway.
      const b = 'StAlL';
      const stalled = stalledUpload(server.url, '/v1/jobs', { 'content-type': `multipart/form-data; boundary=${b}` }, 20_000_000, multipartStart(b, 64 * 1024), 60_000).catch(() => null);
      await new Promise((r) => setTimeout(r, 500));
      const exited = new Promise<number | null>((resolve) => server.proc.once('exit', (code) => resolve(code)));
      server.proc.kill('SIGTERM');
      const outcome = await Promise.race([exited.then(() => 'exited'), new Promise((r) => setTimeout(() => r('still running'), 20_000))]);
      assert.equal(outcome, 'exited', server.output());
      await Promise.all([waiting, waitingSubmit, stalled]);
    } finally {
      if (server.proc.exitCode === null && server.proc.signalCode === null) process.kill(-server.proc.pid!, 'SIGKILL');
      rmSync(data, { recursive: true, force: true });
    }
  });
});
