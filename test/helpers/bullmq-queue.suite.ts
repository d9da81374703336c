import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { BullmqQueue } from '../../src/adapters/bullmq/bullmq.queue.js';
import type { Job } from '../../src/core/job.types.js';
import type { LeaseRecords } from '../../src/core/ports/lease-records.port.js';
import type { LeasedJob, LeaseOptions } from '../../src/core/ports/queue.port.js';
import { PrivateRedis } from './redis-server.js';

/**
 * The lease records a BullMQ queue composes with, plus the two JobStore steps the tests need
 * (create a queued record, cancel). The same suite runs over any implementation.
 */
export interface RecordsHarness {
  /** Records as one process sees them; called again for "another process" (its own connection). */
  connect(): LeaseRecords;
  create(spec: { id: string; processor: string; priority?: number; maxAttempts?: number }): Promise<Job>;
  /** As JobStore.requestCancel: queued → canceled, running → cancel requested. */
  cancel(id: string): Promise<void>;
  get(id: string): Promise<Job | null>;
  close(): Promise<void>;
}

export type RecordsFactory = () => Promise<RecordsHarness>;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value (fails after `ms`). */
async function until<T>(what: string, fn: () => Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function leaseOpts(workerId: string, limits: Record<string, number>, over: Partial<LeaseOptions> = {}): LeaseOptions {
  return { workerId, limits, max: 10, busy: 0, leaseMs: 30_000, ...over };
}

/**
 * BullmqQueue against a real Redis at `url` (keys under a prefix unique to this run, deleted at the
 * end), with the lease records from `factory`.
 */
export function bullmqQueueSuite(kind: string, url: string, factory: RecordsFactory, opts: { skip?: string | false } = {}): void {
  const filePrefix = `mftest:${randomUUID().slice(0, 8)}`;
  let n = 0;

  /** One or more queue instances (each as its own process would open it), closed and cleaned after `fn`. */
  async function withQueues(count: number, fn: (h: RecordsHarness, qs: BullmqQueue[]) => Promise<void>, redisUrl = url): Promise<void> {
    const h = await factory();
    const prefix = `${filePrefix}:t${++n}`;
    const qs = Array.from({ length: count }, () => new BullmqQueue({ url: redisUrl, prefix, records: h.connect(), opTimeoutMs: 2000 }));
    try {
      await Promise.all(qs.map((q) => q.ready()));
      await fn(h, qs);
    } finally {
      await Promise.all(qs.map((q) => q.close()));
      await h.close();
    }
  }

  async function job(h: RecordsHarness, q: BullmqQueue, processor: string, over: { priority?: number; maxAttempts?: number } = {}): Promise<Job> {
    const j = await h.create({ id: randomUUID(), processor, ...over });
    await q.enqueue(j);
    return j;
  }

  if (opts.skip) {
    test(`BullmqQueue (lease records: ${kind})`, { skip: opts.skip }, () => {});
    return;
  }
  describe(`BullmqQueue (lease records: ${kind})`, () => {
    // Every key this run made, gone (also when only some tests were selected).
    after(async () => {
      const r = new Redis(url);
      try {
        let cursor = '0';
        do {
          const [next, keys] = await r.scan(cursor, 'MATCH', `${filePrefix}:*`, 'COUNT', 1000);
          if (keys.length) await r.del(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        r.disconnect();
      }
    });

    test('higher Mediaflow priority runs first; equal priorities in submission order', async () => {
      await withQueues(1, async (h, [q]) => {
        const low = await job(h, q!, 'ocr', { priority: -10 });
        const mid = await job(h, q!, 'ocr', { priority: 0 });
        const high = await job(h, q!, 'ocr', { priority: 50 });
        const mid2 = await job(h, q!, 'ocr', { priority: 0 });
        const top = await job(h, q!, 'ocr', { priority: 100 });
        const order: string[] = [];
        for (let i = 0; i < 5; i++) {
          const got = await q!.lease(leaseOpts('w1', { ocr: 10 }, { max: 1 }));
          assert.equal(got.length, 1);
          order.push(got[0]!.job.id);
        }
        assert.deepEqual(order, [top.id, high.id, mid.id, mid2.id, low.id]);
        assert.deepEqual(await q!.lease(leaseOpts('w1', { ocr: 10 })), []);
      });
    });

    test('a failed attempt with attempts left comes back after its backoff, not before', async () => {
      await withQueues(1, async (h, [q]) => {
        const j = await job(h, q!, 'ocr', { maxAttempts: 2 });
        const [first] = await q!.lease(leaseOpts('w1', { ocr: 1 }));
        assert.equal(first!.job.attempts, 1);
        const out = await q!.fail(first!.lease, { code: 'PROCESSING_FAILED', message: 'boom' }, true, 1500);
        assert.equal(out.applied, true);
        assert.equal(out.job!.status, 'queued');
        assert.ok(out.retryAt! > Date.now());
        // Waiting in BullMQ as a delayed job: held, but not offered yet.
        assert.deepEqual(await q!.missing([j]), []);
        assert.deepEqual(await q!.lease(leaseOpts('w1', { ocr: 1 })), []);
        const again = await until('the retry', () => q!.lease(leaseOpts('w1', { ocr: 1 })).then((l) => l[0]));
        assert.equal(again.job.id, j.id);
        assert.equal(again.job.attempts, 2);
        const last = await q!.fail(again.lease, { code: 'PROCESSING_FAILED', message: 'boom' }, true, 10);
        assert.equal(last.job!.status, 'failed');
        assert.deepEqual(await q!.missing([j]), [j.id]);
      });
    });

    test('per-processor concurrency holds across two instances; every job runs exactly once', async () => {
      await withQueues(2, async (h, [a, b]) => {
        const ocr = [];
        for (let i = 0; i < 6; i++) ocr.push(await job(h, a!, 'ocr'));
        const sep = await job(h, b!, 'separate');
        const limits = { ocr: 2, separate: 1 };
        const [x, y] = await Promise.all([a!.lease(leaseOpts('w1', limits)), b!.lease(leaseOpts('w2', limits))]);
        const all = [...x, ...y];
        assert.equal(all.filter((l) => l.job.processor === 'ocr').length, 2);
        assert.deepEqual(all.filter((l) => l.job.processor === 'separate').map((l) => l.job.id), [sep.id]);
        // Full: neither instance gets more.
        assert.deepEqual([...await a!.lease(leaseOpts('w1', limits)), ...await b!.lease(leaseOpts('w2', limits))], []);
        // Run the rest, alternating instances, never above 2 at once.
        const ran = new Map<string, number>();
        let running: Array<{ q: BullmqQueue; l: LeasedJob }> = [
          ...x.map((l) => ({ q: a!, l })), ...y.map((l) => ({ q: b!, l })),
        ].filter((r) => r.l.job.processor === 'ocr');
        let turn = 0;
        while (running.length > 0) {
          const done = running.shift()!;
          ran.set(done.l.job.id, (ran.get(done.l.job.id) ?? 0) + 1);
          assert.equal((await done.q.complete(done.l.lease, { ok: true })).applied, true);
          const q = turn++ % 2 ? a! : b!;
          const got = await q.lease(leaseOpts(q === a ? 'w1' : 'w2', { ocr: 2 }));
          running = [...running, ...got.map((l) => ({ q, l }))];
          assert.ok(running.length <= 2, `${running.length} ocr jobs ran at once`);
        }
        assert.deepEqual([...ran.keys()].sort(), ocr.map((j) => j.id).sort());
        assert.ok([...ran.values()].every((c) => c === 1));
      });
    });

    test('a job delivered twice runs once; a job canceled while queued is dropped when delivered', async () => {
      await withQueues(2, async (h, [a, b]) => {
        const j = await job(h, a!, 'ocr');
        const [l] = await a!.lease(leaseOpts('w1', { ocr: 5 }));
        assert.equal(l!.job.id, j.id);
        // The same id offered again (the reconciler racing the claim, a re-delivery after a Redis failover).
        await b!.enqueue(j);
        assert.deepEqual(await b!.lease(leaseOpts('w2', { ocr: 5 })), []);
        assert.deepEqual(await b!.missing([j]), [j.id], 'the refused delivery is dropped, not put back');
        assert.equal((await a!.complete(l!.lease, { ok: true })).applied, true);
        assert.equal((await h.get(j.id))!.attempts, 1);

        const k = await job(h, a!, 'ocr');
        await h.cancel(k.id); // canceled in the records; its queue entry is left behind on purpose
        assert.deepEqual(await b!.lease(leaseOpts('w2', { ocr: 5 })), []);
        assert.deepEqual(await a!.missing([k]), [k.id]);
        assert.equal((await h.get(k.id))!.status, 'canceled');

        const r = await job(h, a!, 'ocr');
        await h.cancel(r.id);
        await a!.remove(r.id, 'ocr');
        assert.deepEqual(await a!.missing([r]), [r.id]);
      });
    });

    test('a cancel signal from one instance reaches the instance running the job', async () => {
      await withQueues(2, async (h, [api, worker]) => {
        const j = await job(h, api!, 'ocr');
        const [l] = await worker!.lease(leaseOpts('w1', { ocr: 1 }));
        const heardByWorker = new Promise<string>((resolve) => worker!.onCancel(resolve));
        const heardByApi: string[] = [];
        api!.onCancel((id) => heardByApi.push(id));
        // Both subscriptions are live before the signal is sent.
        const probe = new Redis(url);
        try {
          await until('subscriptions', async () => {
            const [, subs] = (await probe.pubsub('NUMSUB', `${filePrefix}:t${n}:cancel`)) as [string, number];
            return subs >= 2;
          });
        } finally {
          probe.disconnect();
        }
        await h.cancel(j.id);
        await api!.signalCancel(j.id);
        const heard = await Promise.race([heardByWorker, sleep(2000).then(() => 'nothing within 2 s')]);
        assert.equal(heard, j.id);
        assert.deepEqual(heardByApi, [], 'only the process holding the job is told');
        assert.deepEqual((await worker!.heartbeat([l!.lease], 30_000)).cancel, [j.id]);
        assert.equal((await worker!.canceled(l!.lease)).job!.status, 'canceled');
      });
    });

    test('a solo job is given back by a busy worker, unspent, and taken alone by an idle one', async () => {
      await withQueues(1, async (h, [q]) => {
        await job(h, q!, 'ocr', { priority: 10 });
        await job(h, q!, 'ocr', { priority: 10 });
        const both = await q!.lease(leaseOpts('crashed', { ocr: 5 }));
        assert.equal(both.length, 2);
        // The worker process died with both jobs: neither is charged, each runs alone next.
        const back = await q!.releaseWorker('crashed', { crashed: true });
        assert.deepEqual(back.map((j) => j.status), ['queued', 'queued']);
        assert.deepEqual(back.map((j) => j.attempts), [0, 0]);
        const plain = await job(h, q!, 'ocr', { priority: 0 });
        // Until both are due again in BullMQ (a requeue allows for clocks that differ a little).
        await sleep(600);
        // A busy worker is offered the solo jobs first (higher priority) and takes only the plain one.
        const busy = await q!.lease(leaseOpts('busy', { ocr: 5 }, { busy: 1 }));
        assert.deepEqual(busy.map((l) => l.job.id), [plain.id]);
        for (const j of back) assert.equal((await h.get(j.id))!.attempts, 0, 'giving back spends no attempt');
        const alone = await until('an idle worker to take a solo job', async () => {
          const got = await q!.lease(leaseOpts('idle', { ocr: 5 }));
          return got.length ? got : null;
        });
        assert.equal(alone.length, 1);
        assert.equal(alone[0]!.solo, true);
        assert.equal(alone[0]!.job.attempts, 1);
      });
    });

    test('an expired lease is queued again in BullMQ; heartbeats and depth come from the records', async () => {
      await withQueues(1, async (h, [q]) => {
        const j = await job(h, q!, 'ocr', { maxAttempts: 3 });
        const [l] = await q!.lease(leaseOpts('w1', { ocr: 1 }, { leaseMs: 50 }));
        await sleep(120);
        const back = await q!.requeueExpired();
        assert.deepEqual(back.map((b) => [b.id, b.status]), [[j.id, 'queued']]);
        assert.deepEqual(await q!.missing([j]), []);
        assert.deepEqual(await q!.depth(), { ocr: 1 });
        assert.deepEqual(await q!.heartbeat([l!.lease], 1000), { cancel: [], lost: [j.id] });
        const again = await until('the requeued job', () => q!.lease(leaseOpts('w2', { ocr: 1 })).then((x) => x[0]));
        assert.equal(again.job.attempts, 2);
        assert.equal((await q!.progress(l!.lease, 0.5, 'stale')), false, 'the old lease writes nothing');
        assert.equal((await q!.progress(again.lease, 0.5, 'working')), true);
      });
    });

    test('Redis restarted empty: 503 meanwhile, then the lost jobs are reported missing and run', async () => {
      const redis = await PrivateRedis.start();
      try {
        await withQueues(1, async (h, [q]) => {
          let reconnects = 0;
          q!.onReconnect(() => { reconnects++; });
          const [j1, j2, j3] = [await job(h, q!, 'ocr'), await job(h, q!, 'ocr'), await job(h, q!, 'ocr')];
          const [running] = await q!.lease(leaseOpts('w1', { ocr: 5 }, { max: 1 }));
          assert.equal(running!.job.id, j1!.id);

          await redis.kill();
          const err = await until('the queue to notice', () => q!.ping().then(() => null, (e: unknown) => e));
          assert.equal((err as { code: string }).code, 'QUEUE_UNAVAILABLE');
          assert.equal((err as { status: number }).status, 503);
          await assert.rejects(q!.enqueue(j2!), { code: 'QUEUE_UNAVAILABLE', status: 503 });
          await assert.rejects(q!.lease(leaseOpts('w1', { ocr: 5 })), { code: 'QUEUE_UNAVAILABLE' });
          await assert.rejects(q!.missing([j2!]), { code: 'QUEUE_UNAVAILABLE' });
          // The running job carries on: its lease lives in the records.
          assert.deepEqual(await q!.heartbeat([running!.lease], 30_000), { cancel: [], lost: [] });

          await redis.start(); // empty: no persistence
          await until('the reconnection', async () => reconnects > 0);
          await q!.ping();
          assert.deepEqual((await q!.missing([j2!, j3!])).sort(), [j2!.id, j3!.id].sort());
          for (const j of [j2!, j3!]) await q!.enqueue(j);
          const got = await q!.lease(leaseOpts('w1', { ocr: 5 }));
          assert.deepEqual(got.map((l) => l.job.id).sort(), [j2!.id, j3!.id].sort());
          assert.equal((await q!.complete(running!.lease, { ok: true })).applied, true);
        }, redis.url);
      } finally {
        await redis.kill();
      }
    });
    test('Redis down when the queue opens: 503 until it comes up; close does not wait for it', async () => {
      const redis = await PrivateRedis.start();
      await redis.kill();
      const h = await factory();
      const q = new BullmqQueue({ url: redis.url, prefix: `${filePrefix}:t${++n}`, records: h.connect(), opTimeoutMs: 2000 });
      try {
        await assert.rejects(q.ping(), { code: 'QUEUE_UNAVAILABLE', status: 503 });
        const j = await h.create({ id: randomUUID(), processor: 'ocr' });
        await assert.rejects(q.enqueue(j), { code: 'QUEUE_UNAVAILABLE' });
        await redis.start();
        await until('the connection', () => q.ping().then(() => true, () => false));
        await q.enqueue(j);
        assert.deepEqual((await q.lease(leaseOpts('w1', { ocr: 1 }))).map((l) => l.job.id), [j.id]);
        await redis.kill();
        await until('the queue to notice', () => q.ping().then(() => false, () => true));
      } finally {
        await q.close();
        await h.close();
        await redis.kill();
      }
    });
  });
}
