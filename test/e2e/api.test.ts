import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import http from 'node:http';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { inProcessWorker, startServer, sweepBlobs, json, submit, upload, until, type InProcessServer } from '../helpers/server.js';
import { WebhookSender } from '../../src/http/webhook-sender.js';

const URL_IN = { url: 'http://127.0.0.1/' };

describe('the /v1 API over real HTTP', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ network: { allowPrivate: true }, uploadLimitMb: 1, webhooks: { secret: 'shh', attempts: 3 } }); });
  after(async () => { await s.close(); });

  test('Prefer: wait returns the finished job, with outputs served with ETag and Range', async () => {
    const res = await submit(s.url, { processor: 'sleep', params: { ms: 100, output: true }, input: URL_IN }, { prefer: 'wait=10' });
    assert.equal(res.status, 200);
    const job = await json(res);
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(job.result, { slept: 100 });
    const out = job.outputs[0];
    assert.equal(out.name, 'hello.txt');
    const full = await fetch(s.url + out.url);
    assert.equal(full.status, 200);
    assert.equal(full.headers.get('content-type'), 'text/plain');
    assert.equal(full.headers.get('content-length'), '6');
    assert.equal(await full.text(), 'hello\n');
    const etag = full.headers.get('etag')!;
    assert.equal(etag, `"${createHash('sha256').update('hello\n').digest('hex')}"`);
    const part = await fetch(s.url + out.url, { headers: { range: 'bytes=1-3' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 1-3/6');
    assert.equal(await part.text(), 'ell');
    assert.equal((await fetch(s.url + out.url, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(s.url + out.url, { headers: { range: 'bytes=10-20' } })).status, 416);
  });

  test('without Prefer the submit answers 202 at once with a Location', async () => {
    const res = await submit(s.url, { processor: 'sleep', params: { ms: 300 }, input: URL_IN });
    assert.equal(res.status, 202);
    const job = await json(res);
    assert.equal(res.headers.get('location'), `/v1/jobs/${job.id}`);
    assert.ok(['queued', 'running'].includes(job.status));
    const done = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'succeeded' && j; });
    assert.equal(done.progress, 1);
  });

  test('SSE delivers status, progress and done in order', async () => {
    const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 600 }, input: URL_IN }));
    const res = await fetch(`${s.url}/v1/jobs/${job.id}/events`, { headers: { accept: 'text/event-stream' } });
    assert.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
    const text = await res.text(); // the stream ends after `done`
    const events = text.split('\n\n').filter((b) => b.includes('data:')).map((b) => ({
      event: /event: (\w+)/.exec(b)?.[1],
      data: JSON.parse(/data: (.*)/.exec(b)![1]!),
    }));
    assert.equal(events[0]!.event, 'status');
    assert.equal(events.at(-1)!.event, 'done');
    assert.equal(events.at(-1)!.data.status, 'succeeded');
    const progress = events.filter((e) => e.event === 'progress').map((e) => e.data.progress as number);
    assert.ok(progress.length >= 2, `progress events: ${progress}`);
    assert.deepEqual(progress, [...progress].sort((a, b) => a - b), 'progress never goes back');
    assert.equal(progress.at(-1), 1);
  });

  test('cancel stops a running job promptly; retry runs it again', async () => {
    const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 20_000 }, input: URL_IN }));
    await until(async () => (await json(await fetch(`${s.url}/v1/jobs/${job.id}`))).status === 'running');
    const t0 = Date.now();
    const c = await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    assert.equal(c.status, 200);
    const canceled = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'canceled' && j; }, 5000, 20);
    assert.ok(Date.now() - t0 < 2000, 'canceled within 2 s');
    assert.equal(canceled.error.code, 'JOB_CANCELED');
    const again = await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    assert.equal(again.status, 409);
    assert.equal((await json(again)).code, 'JOB_NOT_CANCELABLE');
    const r = await json(await fetch(`${s.url}/v1/jobs/${job.id}/retry`, { method: 'POST' }));
    assert.ok(['queued', 'running'].includes(r.status));
    await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
  });

  test('a queued job is canceled at once', async () => {
    await s.worker!.stop(false, 0);
    try {
      const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 10 }, input: URL_IN }));
      const c = await json(await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' }));
      assert.equal(c.status, 'canceled');
    } finally {
      s.worker = inProcessWorker(s.rt);
    }
  });

  test('the same upload twice gives the same job; 50 concurrent identical submits make one job', async () => {
    const bytes = Buffer.from(`same content ${Date.now()}`);
    const a = await json(await upload(s.url, 'checksum', bytes, 'a.bin'));
    const b = await upload(s.url, 'checksum', bytes, 'b.bin');
    assert.equal((await json(b)).id, a.id);
    assert.equal(b.headers.get('x-mediaflow-existing-job'), 'dedup');
    const many = Buffer.from(`concurrent ${Date.now()}`);
    const ids = await Promise.all(Array.from({ length: 50 }, () => upload(s.url, 'checksum', many, 'm.bin').then(json).then((j) => j.id)));
    assert.equal(new Set(ids).size, 1);
    const list = await json(await fetch(`${s.url}/v1/jobs?processor=checksum&limit=500`));
    assert.equal(list.items.filter((j: { id: string }) => j.id === ids[0]).length, 1);
  });

  test('Idempotency-Key returns the first job for the same request and 422 for another', async () => {
    const key = `k-${Date.now()}`;
    const a = await json(await submit(s.url, { processor: 'noop', params: { value: '1' }, input: URL_IN }, { 'idempotency-key': key }));
    const b = await json(await submit(s.url, { processor: 'noop', params: { value: '1' }, input: URL_IN }, { 'idempotency-key': key }));
    assert.equal(a.id, b.id);
    const c = await submit(s.url, { processor: 'noop', params: { value: '2' }, input: URL_IN }, { 'idempotency-key': key });
    assert.equal(c.status, 422);
    assert.equal((await json(c)).code, 'IDEMPOTENCY_CONFLICT');
  });

  test('uploads: base64 and multipart give the same content; names are made safe', async () => {
    const bytes = Buffer.from(`base64 content ${Date.now()}`);
    const viaB64 = await json(await submit(s.url, { processor: 'checksum', input: { base64: bytes.toString('base64'), filename: '../../etc/pa\u0001ss\u0007wd' } }, { prefer: 'wait=10' }));
    assert.equal(viaB64.status, 'succeeded');
    assert.equal(viaB64.result.sha256, createHash('sha256').update(bytes).digest('hex'));
    assert.equal(viaB64.input.name, 'passwd');
    const res = await upload(s.url, 'checksum', Buffer.from(`multipart ${Date.now()}`), '..\\..\\x\u0000y.bin', {}, { prefer: 'wait=10' });
    const viaForm = await json(res);
    assert.equal(viaForm.input.name, 'xy.bin');
    const copy = await fetch(`${s.url}${viaForm.outputs[0].url}`);
    assert.equal(await copy.text(), (await (await fetch(`${s.url}${viaForm.input.url}`)).text()));
  });

  test('bad input gets a clear 4xx with a stable code, and nothing is left behind', async () => {
    const expect = async (res: Response, status: number, code: string) => {
      const body = await json(res);
      assert.equal(res.status, status, JSON.stringify(body));
      assert.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(body.code, code);
      assert.ok(body.detail.length > 5);
    };
    const form = new FormData();
    form.set('processor', 'checksum');
    await expect(await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: form }), 400, 'INPUT_MISSING');
    await expect(await upload(s.url, 'checksum', Buffer.alloc(0), 'empty.bin'), 400, 'INPUT_EMPTY');
    await expect(await upload(s.url, 'checksum', Buffer.alloc(2 * 1024 * 1024, 1), 'big.bin'), 413, 'INPUT_TOO_LARGE');
    await expect(await submit(s.url, { processor: 'checksum', input: { base64: 'not*base64!' } }), 400, 'INVALID_BASE64');
    await expect(await submit(s.url, { processor: 'nope', input: URL_IN }), 404, 'PROCESSOR_UNKNOWN');
    await expect(await submit(s.url, { processor: 'sleep', params: { bogus: 1 }, input: URL_IN }), 400, 'PARAMS_INVALID');
    await expect(await submit(s.url, { processor: 'sleep', input: { url: 'file:///etc/passwd' } }), 400, 'URL_INVALID');
    await expect(await fetch(`${s.url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"processor":' }), 400, 'INVALID_REQUEST');
    await expect(await fetch(`${s.url}/v1/jobs/does-not-exist`), 404, 'JOB_NOT_FOUND');
    await expect(await fetch(`${s.url}/v1/jobs?status=bogus`), 400, 'INVALID_REQUEST');
    // The partial upload and the refused ones left no blobs behind.
    const tmp = readdirSync(path.join(s.config.data, 'blobs', '.tmp'));
    assert.deepEqual(tmp, []);
  });

  test('a private-network URL is refused unless allowed by config', async () => {
    const strict = await startServer({ network: { allowPrivate: false } });
    try {
      for (const url of ['http://127.0.0.1/', 'http://169.254.169.254/latest/meta-data', 'http://[::1]/', 'http://10.0.0.1/', 'http://localhost/']) {
        const res = await submit(strict.url, { processor: 'sleep', input: { url } });
        assert.equal(res.status, 403, url);
        assert.equal((await json(res)).code, 'URL_FORBIDDEN');
      }
    } finally {
      await strict.close();
    }
  });

  test('delete removes the job and the files only it used', async () => {
    const bytes = Buffer.from(`to delete ${Date.now()}`);
    const job = await json(await upload(s.url, 'checksum', bytes, 'd.bin', {}, { prefer: 'wait=10' }));
    const sha = job.input.sha256;
    const blob = path.join(s.config.data, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);
    assert.ok(readdirSync(path.dirname(blob)).includes(sha));
    assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}`)).status, 404);
    assert.ok(readdirSync(path.dirname(blob)).includes(sha), 'kept until the sweep: a submit of the same content may be racing');
    await sweepBlobs(s.rt);
    assert.ok(!readdirSync(path.dirname(blob)).includes(sha));
  });

  test('retention removes ended jobs older than the limit, with their files', async () => {
    const job = await json(await upload(s.url, 'checksum', Buffer.from(`old ${Date.now()}`), 'o.bin', {}, { prefer: 'wait=10' }));
    const removed = await s.rt.jobs.sweepRetention(new Date(Date.now() + 8 * 86_400_000));
    assert.ok(removed >= 1);
    assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}`)).status, 404);
    await sweepBlobs(s.rt);
    assert.equal(await s.rt.blobs.stat(job.input.sha256), null);
  });

  test('webhooks are POSTed signed when a job ends, and retried', async () => {
    const got: Array<{ body: string; sig: string; delivery: string }> = [];
    const deliveries: string[] = [];
    let calls = 0;
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        calls++;
        deliveries.push(String(req.headers['x-mediaflow-delivery']));
        if (calls === 1) { res.statusCode = 500; return res.end(); } // first delivery fails
        got.push({ body, sig: String(req.headers['x-mediaflow-signature']), delivery: String(req.headers['x-mediaflow-delivery']) });
        res.end('ok');
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const sender = new WebhookSender({ outbox: s.rt.webhooks, store: s.rt.store, events: s.rt.events, config: s.rt.config, log: () => {} }).start();
    try {
      const port = (hook.address() as { port: number }).port;
      const job = await json(await submit(s.url, { processor: 'noop', params: { value: 'hook' }, input: URL_IN, webhook: `http://127.0.0.1:${port}/hook` }));
      await until(async () => got.length > 0, 15_000);
      const payload = JSON.parse(got[0]!.body);
      assert.equal(payload.job.id, job.id);
      assert.equal(payload.job.status, 'succeeded');
      assert.equal(got[0]!.sig, `sha256=${createHmac('sha256', 'shh').update(got[0]!.body).digest('hex')}`);
      assert.equal(deliveries.length, 2, 'one failed attempt, one success');
      assert.equal(deliveries[0], deliveries[1], 'the retry carries the same delivery id');
      // The sender removes the delivery once the receiver's answer is in.
      await until(async () => (await s.rt.webhooks.pending()) === 0, 5000);
    } finally {
      await sender.stop();
      hook.close();
    }
  });

  test('a job deleted before its webhook was sent is still reported: id, status, deleted', async () => {
    const got: string[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => { got.push(body); res.end(); });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    try {
      const port = (hook.address() as { port: number }).port;
      const job = await json(await submit(s.url, { processor: 'noop', params: { value: 'gone' }, input: URL_IN, webhook: `http://127.0.0.1:${port}/gone` }, { prefer: 'wait=10' }));
      assert.equal(job.status, 'succeeded');
      assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}`, { method: 'DELETE' })).status, 204);
      // The sender starts only now: the record is gone, the delivery is not.
      const sender = new WebhookSender({ outbox: s.rt.webhooks, store: s.rt.store, events: s.rt.events, config: s.rt.config, log: () => {} }).start();
      try {
        await until(async () => got.length > 0, 15_000);
      } finally {
        await sender.stop();
      }
      assert.deepEqual(JSON.parse(got[0]!), { event: 'job.done', job: { id: job.id, status: 'succeeded', error: null, deleted: true } });
    } finally {
      hook.close();
    }
  });

  test('docs, OpenAPI, processors, health, readiness and metrics answer', async () => {
    const spec = await json(await fetch(`${s.url}/openapi.json`));
    assert.equal(spec.openapi.slice(0, 2), '3.');
    for (const p of ['/v1/jobs', '/v1/jobs/{id}', '/v1/jobs/{id}/events', '/v1/jobs/{id}/outputs/{name}', '/v1/processors', '/ocr']) assert.ok(spec.paths[p], p);
    assert.equal((await fetch(`${s.url}/docs`)).status, 200);
    const procs = await json(await fetch(`${s.url}/v1/processors`));
    const sleep = procs.items.find((p: { name: string }) => p.name === 'sleep');
    assert.equal(sleep.params.properties.ms.default, 1000);
    assert.deepEqual(await json(await fetch(`${s.url}/health`)), { status: 'ok' });
    const ready = await fetch(`${s.url}/ready`);
    assert.equal(ready.status, 200);
    assert.equal((await json(ready)).checks.store.ok, true);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(metrics, /mediaflow_jobs\{processor="\w+",status="\w+"\} \d+/);
    assert.match(metrics, /mediaflow_http_request_duration_seconds_bucket/);
    // Run times of ended jobs (read in batches from the records, so within a couple of seconds).
    const done = await json(await submit(s.url, { processor: 'noop', params: { value: 'timed' }, input: URL_IN }, { prefer: 'wait=10' }));
    assert.equal(done.status, 'succeeded');
    await until(async () => /mediaflow_job_duration_seconds_count\{processor="noop",status="succeeded"\} [1-9]/.test(await (await fetch(`${s.url}/metrics`)).text()), 10_000, 200);
  });
});

describe('API keys', () => {
  test('when keys are configured /v1 needs one; health does not', async () => {
    const s = await startServer({ apiKeys: ['secret-key-1'] });
    try {
      const no = await fetch(`${s.url}/v1/jobs`);
      assert.equal(no.status, 401);
      assert.equal((await json(no)).code, 'UNAUTHORIZED');
      assert.equal((await fetch(`${s.url}/v1/jobs`, { headers: { authorization: 'Bearer secret-key-1' } })).status, 200);
      assert.equal((await fetch(`${s.url}/v1/jobs`, { headers: { 'x-api-key': 'secret-key-1' } })).status, 200);
      assert.equal((await fetch(`${s.url}/v1/jobs`, { headers: { 'x-api-key': 'wrong-key-11' } })).status, 401);
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
    } finally {
      await s.close();
    }
  });
});
