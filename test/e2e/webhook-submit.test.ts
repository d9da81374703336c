import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, json, submit, type InProcessServer } from '../helpers/server.js';

// A public address literal: checked against the policy without any DNS lookup or connection.
const PUBLIC_IN = { url: 'http://93.184.216.34/page' };

describe('webhooks are checked at submit', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({}, { worker: false }); });
  after(async () => { await s.close(); });

  test('a webhook the address policy forbids, or not http(s), is a 400 WEBHOOK_URL_INVALID and makes no job', async () => {
    for (const webhook of ['http://127.0.0.1:9/hook', 'http://169.254.169.254/latest', 'http://[::1]/x', 'http://10.0.0.1/', 'ftp://example.org/x', 'not a url']) {
      const res = await submit(s.url, { processor: 'noop', input: PUBLIC_IN, webhook });
      const body = await json(res);
      assert.equal(res.status, 400, `${webhook}: ${JSON.stringify(body)}`);
      assert.equal(body.code, 'WEBHOOK_URL_INVALID', webhook);
    }
    const form = new FormData();
    form.set('processor', 'noop');
    form.set('url', PUBLIC_IN.url);
    form.set('webhook', 'http://127.0.0.1:9/hook');
    const mp = await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: form });
    assert.equal(mp.status, 400);
    assert.equal((await json(mp)).code, 'WEBHOOK_URL_INVALID');
    assert.equal((await json(await fetch(`${s.url}/v1/jobs`))).items.length, 0);
  });

  test('a public webhook is accepted', async () => {
    const res = await submit(s.url, { processor: 'noop', input: PUBLIC_IN, webhook: 'https://93.184.216.34/hook' });
    assert.equal(res.status, 202);
  });
});

describe('Idempotency-Key covers webhook and priority', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ network: { allowPrivate: true } }, { worker: false }); });
  after(async () => { await s.close(); });

  test('a repeat with the same key and a different webhook or priority is a 422 conflict', async () => {
    const headers = { 'idempotency-key': 'order-42' };
    const first = { processor: 'noop', input: { url: 'http://127.0.0.1/a' }, webhook: 'http://127.0.0.1:9/one', priority: 5 };
    const a = await submit(s.url, first, headers);
    assert.equal(a.status, 202);
    const job = await json(a);
    const again = await submit(s.url, first, headers);
    assert.ok(again.status === 200 || again.status === 202);
    assert.equal((await json(again)).id, job.id);
    assert.equal(again.headers.get('x-mediaflow-existing-job'), 'idempotency');
    for (const changed of [{ ...first, webhook: 'http://127.0.0.1:9/two' }, { ...first, webhook: undefined }, { ...first, priority: 6 }, { ...first, priority: undefined }]) {
      const res = await submit(s.url, changed, headers);
      const body = await json(res);
      assert.equal(res.status, 422, JSON.stringify(changed));
      assert.equal(body.code, 'IDEMPOTENCY_CONFLICT');
    }
  });
});
