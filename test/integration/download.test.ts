import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultConfig } from '../../src/config/load-config.js';
import { validateParams } from '../../src/core/params.js';
import { downloadToFile } from '../../src/net/index.js';
import { downloadProcessor } from '../../src/processors/download/index.js';
import { createLocalContext } from '../../src/worker/local-context.js';
import { makeClip } from '../helpers/hls-media.js';
import { patternBytes, sha256, startTestServer, type TestServer } from '../helpers/http-server.js';
import { rejectsWith } from '../helpers/assertions.js';

// Tests talk to a server on 127.0.0.1, which only a configuration allowing private addresses reaches.
const config = defaultConfig({ network: { allowPrivate: true, idleTimeoutMs: 600, connectTimeoutMs: 2000 } });
const MiB = 1048576;

let server: TestServer;
let dir: string;
before(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-download-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('a multi-megabyte file streams to disk with progress and the right sha256', async () => {
  const body = patternBytes(24 * MiB, 11);
  const url = server.route('/files/big%20file.bin', { kind: 'file', body, contentType: 'application/octet-stream' });
  const seen: Array<[number, number | undefined]> = [];
  const dest = path.join(dir, 'big');
  const r = await downloadToFile(url, dest, { config, onProgress: (a, b) => seen.push([a, b]) });
  assert.equal(r.size, body.length);
  assert.equal(r.sha256, sha256(body));
  assert.equal(r.fileName, 'big file.bin');
  assert.equal(r.contentType, 'application/octet-stream');
  assert.ok((await readFile(dest)).equals(body));
  assert.ok(seen.length >= 2, 'progress was reported');
  assert.deepEqual(seen.at(-1), [body.length, body.length]);
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i][0] >= seen[i - 1][0], 'progress never goes back');
});

test('hash: false: the same bytes through drops and resumes, and no digest (the blob store hashes)', async () => {
  const body = patternBytes(6 * MiB, 14);
  const url = server.route('/nohash', { kind: 'file', body, etag: '"v1"', dropAfter: 2 * MiB + 77, dropTimes: 1 });
  const r = await downloadToFile(url, path.join(dir, 'nohash'), { config, hash: false });
  assert.equal(r.size, body.length);
  assert.equal(r.sha256, undefined);
  assert.ok((await readFile(path.join(dir, 'nohash'))).equals(body));
});

test('a dropped connection is resumed with Range, and the result is byte-exact', async () => {
  const body = patternBytes(6 * MiB, 12);
  const url = server.route('/drop', { kind: 'file', body, etag: '"v1"', dropAfter: 2 * MiB + 123, dropTimes: 2 });
  const before = server.requests.length;
  const r = await downloadToFile(url, path.join(dir, 'drop'), { config });
  assert.equal(r.sha256, sha256(body));
  assert.ok((await readFile(path.join(dir, 'drop'))).equals(body));
  const reqs = server.requests.slice(before);
  assert.equal(reqs.length, 2, 'one request, one resume');
  assert.match(String(reqs[1].headers.range), /^bytes=\d+-$/);
  assert.ok(Number(/=(\d+)-/.exec(String(reqs[1].headers.range))![1]) > 0, 'the resume starts where the drop happened');
  assert.equal(reqs[1].headers['if-range'], '"v1"');
});

test('a server without Range support makes the download restart, still byte-exact', async () => {
  const body = patternBytes(3 * MiB, 13);
  const url = server.route('/drop-norange', { kind: 'file', body, ranges: false, dropAfter: MiB });
  const r = await downloadToFile(url, path.join(dir, 'drop2'), { config });
  assert.equal(r.size, body.length);
  assert.equal(r.sha256, sha256(body));
});

test('redirect chains are followed up to the limit', async () => {
  const body = patternBytes(10_000, 14);
  server.route('/target.dat', { kind: 'file', body });
  server.route('/r3', { kind: 'redirect', to: '/target.dat', status: 307 });
  server.route('/r2', { kind: 'redirect', to: `${server.origin}/r3`, status: 301 });
  const url = server.route('/r1', { kind: 'redirect', to: 'r2' });
  const r = await downloadToFile(url, path.join(dir, 'redir'), { config });
  assert.equal(r.sha256, sha256(body));
  assert.equal(r.finalUrl, `${server.origin}/target.dat`);
  assert.equal(r.fileName, 'target.dat');

  for (let i = 0; i < 8; i++) server.route(`/loop${i}`, { kind: 'redirect', to: `/loop${i + 1}` });
  await rejectsWith(downloadToFile(`${server.origin}/loop0`, path.join(dir, 'loop'), { config }), 'URL_TOO_MANY_REDIRECTS');
  assert.equal(existsSync(path.join(dir, 'loop')), false, 'no partial file is left behind');
});

test('HTTP errors: a 404 fails for good, a 503 may be retried', async () => {
  const e404 = await rejectsWith(downloadToFile(`${server.origin}/nothing-here`, path.join(dir, 'e'), { config }), 'URL_HTTP_ERROR');
  assert.equal(e404.details?.status, 404);
  assert.equal(e404.retryable, false);
  server.route('/busy', { kind: 'status', status: 503 });
  const e503 = await rejectsWith(downloadToFile(`${server.origin}/busy`, path.join(dir, 'e'), { config }), 'URL_HTTP_ERROR');
  assert.equal(e503.retryable, true);
});

test('a server that stalls hits the idle timeout, before and during the body', async () => {
  const body = patternBytes(2 * MiB, 15);
  const t0 = Date.now();
  const url = server.route('/stall-body', { kind: 'file', body, stallAfter: 100_000 });
  const e = await rejectsWith(downloadToFile(url, path.join(dir, 'stall'), { config }), 'URL_TIMEOUT');
  assert.equal(e.retryable, true);
  assert.equal(existsSync(path.join(dir, 'stall')), false);
  const url2 = server.route('/stall-headers', { kind: 'file', body, stallHeaders: true });
  await rejectsWith(downloadToFile(url2, path.join(dir, 'stall2'), { config }), 'URL_TIMEOUT');
  // Two idle periods for the body (the stall follows progress, so it is resumed once), one for the headers.
  assert.ok(Date.now() - t0 < 8000, `gave up in ${Date.now() - t0} ms`);
  const refused = await rejectsWith(downloadToFile('http://127.0.0.1:1/x', path.join(dir, 'x'), { config }), 'URL_UNREACHABLE');
  assert.equal(refused.retryable, true);
});

test('a file over the size limit is refused, by its Content-Length and while streaming', async () => {
  const small = defaultConfig({ network: { allowPrivate: true }, limits: { maxDownloadMb: 1 } });
  const body = patternBytes(3 * MiB, 16);
  const url = server.route('/too-big', { kind: 'file', body });
  const e = await rejectsWith(downloadToFile(url, path.join(dir, 'big1'), { config: small }), 'INPUT_TOO_LARGE');
  assert.equal(e.details?.size, body.length);
  const url2 = server.route('/too-big-chunked', { kind: 'file', body, chunked: true });
  await rejectsWith(downloadToFile(url2, path.join(dir, 'big2'), { config: small }), 'INPUT_TOO_LARGE');
  assert.equal(existsSync(path.join(dir, 'big2')), false);
});

test('cancel stops the download and removes the partial file', async () => {
  const url = server.route('/slow', { kind: 'file', body: patternBytes(MiB, 17), stallAfter: 1000 });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  await assert.rejects(downloadToFile(url, path.join(dir, 'slow'), { config: defaultConfig({ network: { allowPrivate: true } }), signal: ac.signal }), { name: 'AbortError' });
  assert.equal(existsSync(path.join(dir, 'slow')), false);
});

test('processor: names from Content-Disposition made safe, the type judged by content, equal content gives equal sha256', async () => {
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2, width: 320, height: 240 });
  const clipBytes = await readFile(clip);
  // Served as a generic type under names that lie or attack.
  server.route('/media/one', { kind: 'file', body: clipBytes, contentType: 'application/octet-stream', contentDisposition: 'attachment; filename="../../etc/evil.mp4"' });
  server.route('/media/two', { kind: 'file', body: clipBytes, contentType: 'text/plain' });
  server.route('/notes', { kind: 'file', body: Buffer.from('plain notes\nline two — ünïcode\n'), contentType: 'text/plain; charset=utf-8', contentDisposition: "attachment; filename*=UTF-8''r%C3%A9sum%C3%A9" });

  const outDir = path.join(dir, 'out');
  const ctx = await createLocalContext({ config, outDir });
  const params = validateParams(downloadProcessor, {}) as never;
  const progress: number[] = [];
  try {
    const ctxWithProgress = { ...ctx, progress: (f: number) => progress.push(f) };
    const one = await downloadProcessor.run(ctxWithProgress, { kind: 'url', url: `${server.origin}/media/one` }, params);
    assert.equal(one.name, 'evil.mp4');
    assert.equal(one.mime, 'video/mp4');
    assert.equal(one.declaredType, 'application/octet-stream');
    assert.equal(one.sha256, sha256(clipBytes));
    assert.ok(one.media && Math.abs((one.media.duration ?? 0) - 2) < 0.2, `duration ${one.media?.duration}`);
    assert.equal(one.media?.video?.width, 320);
    assert.equal(one.media?.audio?.codec, 'aac');
    assert.ok((await readFile(path.join(outDir, 'evil.mp4'))).equals(clipBytes));
    assert.equal(progress.at(-1), 1);

    const two = await downloadProcessor.run(ctx, { kind: 'url', url: `${server.origin}/media/two` }, params);
    assert.equal(two.name, 'two.mp4', 'an extension is added from the detected type');
    assert.equal(two.mime, 'video/mp4', 'the declared text/plain is not believed');
    assert.equal(two.sha256, one.sha256, 'the same content gives the same sha256 (the blob store dedups on it)');

    const notes = await downloadProcessor.run(ctx, { kind: 'url', url: `${server.origin}/notes` }, params);
    assert.equal(notes.name, 'résumé.txt');
    assert.equal(notes.mime, 'text/plain');
    assert.equal(notes.media, null);
    assert.deepEqual((await readdir(outDir)).sort(), ['evil.mp4', 'résumé.txt', 'two.mp4']);
  } finally {
    await ctx.dispose();
  }
});
