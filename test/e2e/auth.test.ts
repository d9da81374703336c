import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startServer, json, submit, type InProcessServer } from '../helpers/server.js';
import { rawRequest } from '../helpers/raw-http.js';

const KEY = 'secret-key-1';
const WITH_KEY = { authorization: `Bearer ${KEY}` };
const URL_IN = { url: 'http://127.0.0.1/' };

async function png(): Promise<Buffer> {
  return sharp({ create: { width: 8, height: 8, channels: 3, background: '#808080' } }).png().toBuffer();
}

function form(field: string, file: Buffer, name: string, fields: Record<string, string> = {}) {
  const f = new FormData();
  for (const [k, v] of Object.entries(fields)) f.set(k, v);
  f.set(field, new Blob([file]), name);
  return f;
}

/** Ways of writing a /v1 path that the router reads as the same route (or as no route). */
function variants(path: string): string[] {
  const rest = path.slice('/v1'.length);
  return [
    path,
    `/%761${rest}`, `/v%31${rest}`, `/%76%31${rest}`, `/%2576%31${rest}`,
    `//v1${rest}`, `/v1/${rest}`, `/V1${rest}`, `/v1${rest.toUpperCase()}`,
    `${path}/`, `${path}?x=1`, `${path}#f`, `/./v1${rest}`, `/v1/..${path}`,
    `/v1${rest.replace(/j/, '%6a').replace(/o/, '%6F')}`,
  ];
}

describe('API keys are decided on the matched route', () => {
  let s: InProcessServer;
  let jobId: string;
  before(async () => {
    s = await startServer({ apiKeys: [KEY], network: { allowPrivate: true } }, { worker: false });
    const res = await submit(s.url, { processor: 'sleep', params: { ms: 10 }, input: URL_IN }, WITH_KEY);
    assert.equal(res.status, 202);
    jobId = (await json(res)).id;
  });
  after(async () => { await s.close(); });

  test('encoded, doubled-slash and mixed-case paths give nothing without a key', async () => {
    const paths = ['/v1/jobs', `/v1/jobs/${jobId}`, `/v1/jobs/${jobId}/events`, `/v1/jobs/${jobId}/input`, `/v1/jobs/${jobId}/outputs/x.txt`, '/v1/events', '/v1/processors'];
    for (const p of paths) {
      for (const v of variants(p)) {
        for (const method of ['GET', 'HEAD', 'OPTIONS']) {
          const r = await rawRequest(s.url, method, v);
          assert.ok(r.status === 401 || r.status === 404 || r.status === 400, `${method} ${v} answered ${r.status}`);
          // (The problem's `instance` echoes the request's own path; no job field may appear.)
          assert.ok(!/"(processor|status|items|params|outputs)"\s*:\s*["[{]/.test(r.body), `${method} ${v} showed the job: ${r.body.slice(0, 200)}`);
        }
      }
    }
    for (const method of ['POST', 'DELETE', 'PUT', 'PATCH']) {
      for (const v of [...variants('/v1/jobs'), ...variants(`/v1/jobs/${jobId}`), ...variants(`/v1/jobs/${jobId}/cancel`), ...variants(`/v1/jobs/${jobId}/retry`)]) {
        const r = await rawRequest(s.url, method, v, { 'content-type': 'application/json' }, JSON.stringify({ processor: 'sleep', input: URL_IN }));
        assert.ok(r.status === 401 || r.status === 404 || r.status === 400, `${method} ${v} answered ${r.status}`);
      }
    }
    // Nothing was changed: the job is still there, still queued, and it is the only one.
    const list = await json(await fetch(`${s.url}/v1/jobs`, { headers: WITH_KEY }));
    assert.deepEqual(list.items.map((j: { id: string; status: string }) => [j.id, j.status]), [[jobId, 'queued']]);
  });

  test('the encoded path is the same route: with a key it answers', async () => {
    const r = await rawRequest(s.url, 'GET', '/%761/jobs', WITH_KEY);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).items[0].id, jobId);
    const bad = await rawRequest(s.url, 'GET', '/%761/jobs');
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['content-type']?.split(';')[0], 'application/problem+json');
    assert.equal(JSON.parse(bad.body).code, 'UNAUTHORIZED');
  });

  test('a wrong key, an empty one, or another scheme is refused', async () => {
    for (const h of <Array<Record<string, string>>>[{ authorization: 'Bearer wrong-key-1' }, { authorization: 'Bearer ' }, { authorization: `Basic ${KEY}` }, { 'x-api-key': '' }, { 'x-api-key': `${KEY}x` }]) {
      assert.equal((await rawRequest(s.url, 'GET', '/v1/jobs', h)).status, 401, JSON.stringify(h));
    }
    assert.equal((await rawRequest(s.url, 'GET', '/v1/jobs', { 'x-api-key': KEY })).status, 200);
  });

  test('compat routes and /tasks/<id> need a key too', async () => {
    const image = await png();
    const noKey: Array<[string, string, RequestInit]> = [
      ['POST', '/ocr', { body: form('file', image, 'a.png') }],
      ['POST', '/upscale', { body: form('image', image, 'a.png') }],
      ['POST', '/process_song', { body: form('file', image, 'a.wav') }],
      ['POST', '/predict', { body: form('file', image, 'a.png') }],
      ['POST', '/upload', { body: JSON.stringify({ image: image.toString('base64') }), headers: { 'content-type': 'application/json' } }],
      ['POST', '/download/file', { body: JSON.stringify({ url: 'http://127.0.0.1/' }), headers: { 'content-type': 'application/json' } }],
      ['POST', '/download/YouTube?url=http://127.0.0.1/', {}],
      ['POST', '/download/stream?playlist_url=http://127.0.0.1/a.m3u8', {}],
      ['GET', `/tasks/${jobId}`, {}],
      ['GET', `/tas%6bs/${jobId}`, {}],
      ['GET', '/status/image_20250101_000000.jpg', {}],
      ['GET', '/processed/a.png', {}],
    ];
    for (const [method, p, init] of noKey) {
      const res = await fetch(s.url + p, { method, ...init });
      assert.equal(res.status, 401, `${method} ${p}`);
      assert.equal((await json(res)).code, 'UNAUTHORIZED');
    }
    const jobs = await json(await fetch(`${s.url}/v1/jobs`, { headers: WITH_KEY }));
    assert.equal(jobs.items.length, 1, 'no job was made without a key');
    const task = await fetch(`${s.url}/tasks/${jobId}`, { headers: WITH_KEY });
    assert.equal(task.status, 200);
    assert.equal((await json(task)).status, 'PENDING');
  });

  test('/metrics needs a key unless metrics.public; health, docs and the web UI do not', async () => {
    assert.equal((await fetch(`${s.url}/metrics`)).status, 401);
    assert.equal((await fetch(`${s.url}/metrics`, { headers: WITH_KEY })).status, 200);
    for (const p of ['/health', '/ready', '/openapi.json', '/docs/', '/', '/index.html', '/js/api.client.js']) {
      assert.equal((await fetch(s.url + p)).status, 200, p);
    }
    const open = await startServer({ apiKeys: [KEY], metrics: { public: true } }, { worker: false });
    try {
      assert.equal((await fetch(`${open.url}/metrics`)).status, 200);
      assert.equal((await fetch(`${open.url}/v1/jobs`)).status, 401);
    } finally {
      await open.close();
    }
  });
});

describe('the API description says which operations take a key', () => {
  test('/openapi.json marks every keyed operation with the bearer and X-Api-Key schemes, and no public one', async () => {
    const s = await startServer({ apiKeys: ['docs-key-123'] });
    try {
      const spec = await json(await fetch(`${s.url}/openapi.json`));
      assert.deepEqual(Object.keys(spec.components.securitySchemes).sort(), ['apiKey', 'bearer']);
      const keyed = (p: string, m: string) => Array.isArray(spec.paths[p][m].security) && spec.paths[p][m].security.length === 2;
      for (const [p, m] of [['/v1/jobs', 'post'], ['/v1/jobs', 'get'], ['/v1/jobs/{id}', 'delete'], ['/process_song', 'post'], ['/tasks/{task_id}', 'get'], ['/metrics', 'get']]) {
        assert.ok(keyed(p!, m!), `${m} ${p} is keyed`);
      }
      for (const p of ['/health', '/ready']) assert.equal(spec.paths[p].get.security, undefined, `${p} is public`);
    } finally {
      await s.close();
    }
  });
});

describe('auth.openCompat', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ apiKeys: [KEY], auth: { openCompat: ['seed001'] }, network: { allowPrivate: true } }, { worker: false }); });
  after(async () => { await s.close(); });

  test('an opened seed answers without a key; /tasks/<id> then shows only that seed\'s jobs', async () => {
    const up = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', await png(), 'cat.png') });
    assert.equal(up.status, 202);
    const { task_id } = await json(up);
    const task = await fetch(`${s.url}/tasks/${task_id}`);
    assert.equal(task.status, 200);
    assert.equal((await json(task)).task_id, task_id);

    const v1 = await json(await submit(s.url, { processor: 'sleep', params: { ms: 10 }, input: URL_IN }, WITH_KEY));
    const hidden = await fetch(`${s.url}/tasks/${v1.id}`);
    assert.equal(hidden.status, 404);
    assert.ok(!(await hidden.text()).includes('sleep'));
    assert.equal((await fetch(`${s.url}/tasks/${v1.id}`, { headers: WITH_KEY })).status, 200);

    // Seeds not opened, and /v1, still need the key.
    assert.equal((await fetch(`${s.url}/ocr`, { method: 'POST', body: form('file', await png(), 'a.png') })).status, 401);
    assert.equal((await fetch(`${s.url}/v1/jobs/${task_id}`)).status, 401);
  });

  test('an unknown seed name is a configuration error', async () => {
    await assert.rejects(startServer({ apiKeys: [KEY], auth: { openCompat: ['seed009'] } }), /auth\.openCompat/);
  });
});
