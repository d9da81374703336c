import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { json, spawnServer, submit, tempDir, until } from '../helpers/server.js';
import { clusterForTest, clusterUnavailable } from '../helpers/cluster.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * Webhook deliveries are stored with the jobs: a receiver that is down when jobs end still gets
 * each of them once it is back, even though the API process was killed (kill -9) in between; and
 * with several API processes on one store, each job's webhook is sent by one of them, once.
 */
const ENV = { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1', MEDIAFLOW_WEBHOOKS_ATTEMPTS: '10', MEDIAFLOW_WEBHOOKS_SECRET: 'hook-secret' };

async function submitMany(urls: string[], n: number, webhook: string, body: (i: number) => Record<string, unknown>): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const res = await submit(urls[i % urls.length]!, { ...body(i), webhook });
    const job = await json(res);
    assert.equal(res.status, 202, JSON.stringify(job));
    ids.push(job.id);
  }
  return ids;
}

/** Every job delivered exactly once (one 2xx), and every attempt at a job carried one delivery id and the same bytes. */
function assertOncePerJob(receiver: Awaited<ReturnType<typeof startWebhookReceiver>>, ids: string[]) {
  const delivered = receiver.delivered();
  for (const id of ids) {
    assert.equal(delivered.get(id)?.length, 1, `job ${id}: ${delivered.get(id)?.length ?? 0} successful deliveries`);
    const attempts = receiver.got.filter((h) => h.jobId === id);
    assert.equal(new Set(attempts.map((h) => h.delivery)).size, 1, `job ${id}: one delivery id across attempts`);
    assert.equal(new Set(attempts.map((h) => h.body)).size, 1, `job ${id}: retries send the same body`);
    assert.equal(delivered.get(id)![0]!.status, 'succeeded');
    assert.ok(delivered.get(id)![0]!.signature?.startsWith('sha256='));
  }
  assert.deepEqual([...delivered.keys()].filter((id) => !ids.includes(id)), [], 'no delivery for a job without a webhook');
}

/** The receiver answered every POST: each job's webhook arrives, once, and no POST more. */
async function expectOnePostPerJob(receiver: Awaited<ReturnType<typeof startWebhookReceiver>>, ids: string[]) {
  await waitDelivered(receiver, ids);
  assertOncePerJob(receiver, ids);
  assert.equal(receiver.got.length, ids.length, 'no POST beyond one per job');
}

/** Until every job was delivered, and then a moment more, for a duplicate to show up were one sent. */
async function waitDelivered(receiver: Awaited<ReturnType<typeof startWebhookReceiver>>, ids: string[]) {
  await until(async () => receiver.delivered().size === ids.length, 90_000, 100);
  await new Promise((r) => setTimeout(r, 2500));
}

const noop = (i: number) => ({ processor: 'noop', params: { value: `hook-${i}` }, input: { url: `http://127.0.0.1/?hook=${i}` } });

const skip = await clusterUnavailable();

describe('durable webhooks', () => {
  test('the API killed (kill -9) while its receiver is down: after a restart every job is delivered, once', { timeout: 180_000 }, async () => {
    const data = tempDir();
    const receiver = await startWebhookReceiver();
    receiver.answer(503);
    let server = await spawnServer(data, ENV);
    try {
      const ids = await submitMany([server.url], 8, receiver.url, noop);
      // A job without a webhook makes no delivery.
      assert.equal((await submit(server.url, noop(99))).status, 202);
      // Every job ended and its webhook was tried (and refused) at least once.
      await until(async () => ids.every((id) => receiver.got.some((h) => h.jobId === id)), 60_000, 50);
      process.kill(-server.proc.pid!, 'SIGKILL');
      await new Promise((r) => server.proc.once('exit', r));

      receiver.answer(200);
      server = await spawnServer(data, ENV);
      await waitDelivered(receiver, ids);
      assertOncePerJob(receiver, ids);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /^mediaflow_webhook_deliveries_pending 0$/m);
    } finally {
      await server.stop();
      await receiver.close();
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('two API processes on one SQLite file: each job is delivered by one of them, once', { timeout: 180_000 }, async () => {
    const data = tempDir();
    const receiver = await startWebhookReceiver();
    const first = await spawnServer(data, ENV);
    const second = await spawnServer(data, ENV, ['--no-workers']);
    try {
      const ids = await submitMany([first.url, second.url], 30, receiver.url, noop);
      await expectOnePostPerJob(receiver, ids);
    } finally {
      await Promise.all([first.stop(), second.stop()]);
      await receiver.close();
      rmSync(data, { recursive: true, force: true });
    }
  });

  test('two API nodes on PostgreSQL (distributed): each job is delivered by one of them, once', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
    const cluster = await clusterForTest(t);
    if (!cluster) return;
    const receiver = await startWebhookReceiver();
    try {
      const env = { MEDIAFLOW_WEBHOOKS_ATTEMPTS: '10', MEDIAFLOW_WEBHOOKS_SECRET: 'hook-secret' };
      const [a, b] = await Promise.all([cluster.api(env), cluster.api(env)]);
      await cluster.worker();
      const sleep = (i: number) => ({ processor: 'sleep', params: { ms: 0 }, input: { url: `http://127.0.0.1/?hook=${i}` } });
      const ids = await submitMany([a.url, b.url], 30, receiver.url, sleep);
      await expectOnePostPerJob(receiver, ids);
    } finally {
      await receiver.close();
      await cluster.destroy();
    }
  });
});
