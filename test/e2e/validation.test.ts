import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, submit, type InProcessServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const URL_IN = { url: 'http://127.0.0.1/' };

function multipart(fields: Record<string, string>) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  return f;
}

describe('request schemas are enforced, with 400 and a stable code', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ network: { allowPrivate: true } }, { worker: false }); });
  after(async () => { await s.close(); });

  async function expect400(res: Response, code = 'INVALID_REQUEST', what = '') {
    const body = await json(res);
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(body)}`);
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.equal(body.code, code, what);
    return body;
  }

  test('priority must be an integer from -100 to 100, in JSON and in multipart', async () => {
    for (const priority of ['x', 1e9, -5.5, 101, true, [], {}]) {
      const body = await expect400(await submit(s.url, { processor: 'noop', input: URL_IN, priority }), 'INVALID_REQUEST', `JSON priority ${JSON.stringify(priority)}`);
      assert.match(body.detail, /priority/);
    }
    for (const priority of ['abc', '1e9', '-5.5', '101', '0x10', '5 5']) {
      const res = await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: multipart({ processor: 'noop', url: 'http://127.0.0.1/', priority }) });
      await expect400(res, 'INVALID_REQUEST', `multipart priority ${priority}`);
    }
    const ok = await json(await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: multipart({ processor: 'noop', url: 'http://127.0.0.1/p', priority: '-7' }) }));
    assert.equal(ok.priority, -7);
    const viaJson = await json(await submit(s.url, { processor: 'noop', input: { url: 'http://127.0.0.1/q' }, priority: 42 }));
    assert.equal(viaJson.priority, 42);
    // None of the refused submits made a job.
    const list = await json(await fetch(`${s.url}/v1/jobs`));
    assert.equal(list.items.length, 2);
  });

  test('wrong types and unknown fields of a JSON submit are refused', async () => {
    for (const body of [
      { processor: 'noop', input: URL_IN, params: 'x' },
      { processor: 'noop', input: 'http://127.0.0.1/' },
      { processor: 'noop', input: { uri: 'http://127.0.0.1/' } },
      { processor: 'noop', input: URL_IN, webhok: 'http://127.0.0.1/' },
      { processor: ['noop', 'x'], input: URL_IN },
      { processor: '', input: URL_IN },
      [],
      'noop',
      null,
    ]) {
      await expect400(await submit(s.url, body), 'INVALID_REQUEST', JSON.stringify(body));
    }
  });

  test('query strings are checked too', async () => {
    for (const q of ['limit=abc', 'limit=0', 'limit=501', 'limit=1.5', 'status=done', 'cursor=%00%ff', 'cursor=abc']) {
      const res = await fetch(`${s.url}/v1/jobs?${q}`);
      assert.ok(res.status === 400 || res.status === 200, `${q}: ${res.status}`);
      if (res.status === 400) assert.equal((await json(res)).code, 'INVALID_REQUEST');
    }
    await expect400(await fetch(`${s.url}/v1/jobs?limit=abc`));
  });

  test('deeply nested JSON is refused at parsing (400), not a 500', async () => {
    const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
    const bodies = [
      `{"processor":"noop","input":{"url":"http://127.0.0.1/"},"params":{"value":${deep(100_000)}}}`,
      deep(200_000),
      `{"processor":"noop","params":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
    ];
    for (const body of bodies) {
      const res = await fetch(`${s.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      const problem = await expect400(res, 'INVALID_REQUEST', body.slice(0, 40));
      assert.match(problem.detail, /nests deeper/);
    }
    // The same through a multipart `params` field and a compat JSON route.
    const mp = await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: multipart({ processor: 'noop', url: 'http://127.0.0.1/', params: `{"value":${deep(100_000)}}` }) });
    await expect400(mp, 'INVALID_REQUEST', 'multipart params');
    const compat = await fetch(`${s.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"image":${deep(100_000)}}` });
    assert.equal(compat.status, 400);
  });

  test('params deeper than settings need or larger than 64 KiB are PARAMS_INVALID', async () => {
    let nested: unknown = 1;
    for (let i = 0; i < 30; i++) nested = { a: nested };
    await expect400(await submit(s.url, { processor: 'noop', input: URL_IN, params: { value: nested } }), 'PARAMS_INVALID', 'deep params');
    await expect400(await submit(s.url, { processor: 'noop', input: URL_IN, params: { value: 'x'.repeat(70_000) } }), 'PARAMS_INVALID', 'large params');
  });

  test('a multipart body that breaks off is a 400, not a 500', async () => {
    const b = 'XyZ';
    const body = `--${b}\r\nContent-Disposition: form-data; name="processor"\r\n\r\nocr\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n`;
    for (const path of ['/v1/jobs', '/ocr', '/upscale', '/predict', '/process_song']) {
      const res = await rawRequest(s.url, 'POST', path, { 'content-type': `multipart/form-data; boundary=${b}` }, body);
      assert.equal(res.status, 400, `${path}: ${res.body}`);
      assert.equal(JSON.parse(res.body).code, 'INVALID_REQUEST', path);
    }
  });
});
