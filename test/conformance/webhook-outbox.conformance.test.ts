import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Job, NewJob } from '../../src/core/job.types.js';
import type { LeasedJob, LeaseOptions } from '../../src/core/ports/queue.port.js';
import type { WebhookDelivery } from '../../src/core/ports/webhook-outbox.port.js';
import { BACKENDS, onTwoProcesses, type Ports } from './backends.js';

/**
 * The WebhookOutbox port's contract, run on every adapter: a job's ending adds one delivery when
 * the job has a webhook, whatever ended it; two processes claiming at once never get the same
 * delivery; a lapsed claim passes to another sender and the old owner can no longer touch it.
 */
const HOOK = 'http://hooks.example/in';

function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(), processor: 'hooked', processorVersion: '1', params: {}, input: { kind: 'url', url: `http://x/${randomUUID()}` },
    priority: 0, maxAttempts: 1, dedupKey: null, idempotencyKey: null, requestFingerprint: null, meta: {}, webhook: HOOK, upstream: null, ...over,
  };
}

const opts = (workerId: string): LeaseOptions => ({ workerId, limits: { hooked: 50 }, max: 50, busy: 0, leaseMs: 30_000 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function submit(p: Ports, over: Partial<NewJob> = {}): Promise<Job> {
  const r = await p.store.create(newJob(over));
  assert.ok(r.created);
  await p.queue.enqueue(r.job, { priority: 0 });
  return r.job;
}

async function leaseAll(p: Ports, want: number): Promise<LeasedJob[]> {
  const got: LeasedJob[] = [];
  const end = Date.now() + 5000;
  while (got.length < want && Date.now() < end) {
    got.push(...(await p.queue.lease({ ...opts('w-hook'), max: want - got.length })));
    if (got.length < want) await sleep(20);
  }
  assert.equal(got.length, want);
  return got;
}

/** Claims until `want` deliveries were had (the outbox is filled at commit; PostgreSQL's clock is its own). */
async function claimAll(p: Ports, owner: string, want: number, claimMs = 30_000): Promise<WebhookDelivery[]> {
  const got: WebhookDelivery[] = [];
  const end = Date.now() + 5000;
  while (got.length < want && Date.now() < end) {
    got.push(...(await p.webhooks.claim(owner, want - got.length, claimMs)));
    if (got.length < want) await sleep(20);
  }
  return got;
}

for (const factory of BACKENDS) {
  describe(`WebhookOutbox conformance: ${factory.name}`, async () => {
    let a: Ports;
    let b: Ports;
    const it = onTwoProcesses(factory, await factory.unavailable(), (x, y) => { a = x; b = y; });

    it('every ending of a job with a webhook adds one delivery; a job without one adds none', async () => {
      const [succeeds, fails, canceled] = [await submit(a), await submit(a), await submit(a)];
      await submit(a, { webhook: null });
      const queuedCancel = await submit(a);
      assert.equal((await b.store.requestCancel(queuedCancel.id))?.canceled, 'now');
      const leased = await leaseAll(b, 4);
      const by = new Map(leased.map((l) => [l.job.id, l.lease]));
      assert.ok((await b.queue.complete(by.get(succeeds.id)!, { ok: 1 })).applied);
      assert.ok((await b.queue.fail(by.get(fails.id)!, { code: 'INTERNAL', message: 'boom' }, false, 0)).applied);
      assert.equal((await a.store.requestCancel(canceled.id))?.canceled, 'requested');
      assert.ok((await b.queue.canceled(by.get(canceled.id)!)).applied);
      for (const l of leased.filter((x) => ![succeeds.id, fails.id, canceled.id].includes(x.job.id))) await b.queue.complete(l.lease, null);

      const got = await claimAll(a, 'sender-a', 5);
      assert.deepEqual(got.map((d) => d.jobId).sort(), [succeeds.id, fails.id, canceled.id, queuedCancel.id].sort());
      const ended = new Map(got.map((d) => [d.jobId, d.ended.status]));
      assert.deepEqual([succeeds.id, fails.id, canceled.id, queuedCancel.id].map((id) => ended.get(id)), ['succeeded', 'failed', 'canceled', 'canceled']);
      assert.equal(got.find((d) => d.jobId === fails.id)!.ended.error?.code, 'INTERNAL');
      for (const d of got) {
        assert.equal(d.url, HOOK);
        assert.equal(d.body, null, 'no body before the first attempt');
        assert.equal(d.attempts, 0);
      }
      assert.equal(await b.webhooks.pending(), 4);
      for (const d of got) await a.webhooks.finish(d.id, 'sender-a');
      assert.equal(await b.webhooks.pending(), 0);
    });

    it('two senders claiming at once never get the same delivery, and together get them all', async () => {
      const jobs = await Promise.all(Array.from({ length: 24 }, () => submit(a)));
      for (const l of await leaseAll(a, 24)) await a.queue.complete(l.lease, null);
      await until(async () => (await a.webhooks.pending()) === 24);
      const claimed: Array<{ owner: string; d: WebhookDelivery }> = [];
      await Promise.all(Array.from({ length: 8 }, (_, i) => (async () => {
        const p = i % 2 ? a : b;
        for (let k = 0; k < 6; k++) for (const d of await p.webhooks.claim(`s-${i}`, 2, 30_000)) claimed.push({ owner: `s-${i}`, d });
      })()));
      assert.equal(claimed.length, 24);
      assert.equal(new Set(claimed.map((c) => c.d.id)).size, 24, 'no delivery claimed twice');
      assert.deepEqual(new Set(claimed.map((c) => c.d.jobId)), new Set(jobs.map((j) => j.id)));
      for (const c of claimed) await (c.owner.endsWith('1') ? b : a).webhooks.finish(c.d.id, c.owner);
      assert.equal(await a.webhooks.pending(), 0);
    });

    it('a failed attempt waits its delay and keeps its body; a lapsed claim passes on and the old owner cannot end it', async () => {
      const job = await submit(a);
      const [l] = await leaseAll(a, 1);
      await a.queue.complete(l!.lease, null);
      const [d] = await claimAll(a, 'first', 1);
      assert.equal(d!.jobId, job.id);
      assert.deepEqual(await b.webhooks.claim('second', 10, 30_000), [], 'claimed: no one else gets it');
      await a.webhooks.retryLater(d!.id, 'first', { attempts: 1, delayMs: 400, body: '{"event":"job.done"}', error: 'HTTP 500' });
      assert.deepEqual(await b.webhooks.claim('second', 10, 30_000), [], 'not before its delay');
      await sleep(500);
      const [again] = await claimAll(b, 'second', 1, 100);
      assert.deepEqual([again!.id, again!.attempts, again!.body], [d!.id, 1, '{"event":"job.done"}']);
      // The claim lapses (the sender died): a third sender takes it; the second can no longer end it.
      await sleep(300);
      const [third] = await claimAll(a, 'third', 1);
      assert.equal(third!.id, d!.id);
      await b.webhooks.finish(d!.id, 'second');
      await b.webhooks.retryLater(d!.id, 'second', { attempts: 9, delayMs: 0, body: 'stale', error: 'stale' });
      assert.equal(await a.webhooks.pending(), 1, 'the stale owner changed nothing');
      await a.webhooks.finish(d!.id, 'third');
      assert.equal(await a.webhooks.pending(), 0);
    });
  });
}

async function until(fn: () => Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error('condition not met');
    await sleep(20);
  }
}
