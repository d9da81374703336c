import { describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Job, NewJob } from '../../src/core/job.types.js';
import type { LeasedJob, LeaseOptions } from '../../src/core/ports/queue.port.js';
import { QueueReconciler } from '../../src/core/queue-reconciler.js';
import { BACKENDS, onTwoProcesses, type Ports } from './backends.js';

/**
 * The Queue and JobStore ports' contract, run on every adapter: the same tests, whatever the
 * technology. Two `Ports` opened on one backend stand for two processes.
 */
function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: randomUUID(), processor: 'sleep', processorVersion: '1', params: {}, input: { kind: 'url', url: 'http://x/' },
    priority: 0, maxAttempts: 2, dedupKey: null, idempotencyKey: null, requestFingerprint: null, meta: {}, webhook: null, upstream: null, ...over,
  };
}

const opts = (workerId: string, over: Partial<LeaseOptions> = {}): LeaseOptions =>
  ({ workerId, limits: { sleep: 10, other: 10 }, max: 10, busy: 0, leaseMs: 30_000, ...over });

async function submit(p: Ports, over: Partial<NewJob> = {}): Promise<Job> {
  const r = await p.store.create(newJob(over));
  assert.ok(r.created);
  await p.queue.enqueue(r.job, { priority: r.job.priority });
  return r.job;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function leaseUntil(p: Ports, o: LeaseOptions, want: number, ms = 5000): Promise<LeasedJob[]> {
  const got: LeasedJob[] = [];
  const end = Date.now() + ms;
  while (got.length < want && Date.now() < end) {
    got.push(...(await p.queue.lease({ ...o, max: want - got.length })));
    if (got.length < want) await sleep(20);
  }
  return got;
}

for (const factory of BACKENDS) {
  describe(`Queue and JobStore conformance: ${factory.name}`, async () => {
    let a: Ports;
    let b: Ports;
    const it = onTwoProcesses(factory, await factory.unavailable(), (x, y) => { a = x; b = y; });

    it('concurrent identical creates make one job (dedup), and an Idempotency-Key conflict is told apart', async () => {
      const key = `dedup-${randomUUID()}`;
      const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).store.create(newJob({ dedupKey: key }))));
      assert.equal(outcomes.filter((o) => o.created).length, 1);
      assert.equal(new Set(outcomes.map((o) => o.job.id)).size, 1);
      const idem = `idem-${randomUUID()}`;
      const first = await a.store.create(newJob({ idempotencyKey: idem, requestFingerprint: 'x' }));
      const same = await b.store.create(newJob({ idempotencyKey: idem, requestFingerprint: 'x' }));
      const other = await b.store.create(newJob({ idempotencyKey: idem, requestFingerprint: 'y' }));
      assert.ok(first.created);
      assert.deepEqual([same.created, !same.created && same.reason], [false, 'idempotency']);
      assert.deepEqual([other.created, !other.created && other.reason], [false, 'idempotency-conflict']);
    });

    it('a burst of creates (batched where the adapter batches them) ends as one after another would', async () => {
      const k = randomUUID();
      const burst = [
        newJob({ idempotencyKey: `i1-${k}`, requestFingerprint: 'x' }),
        newJob({ idempotencyKey: `i1-${k}`, requestFingerprint: 'x' }),
        newJob({ idempotencyKey: `i1-${k}`, requestFingerprint: 'y' }),
        newJob({ dedupKey: `d1-${k}` }),
        newJob({ dedupKey: `d1-${k}` }),
        newJob({ idempotencyKey: `i2-${k}`, requestFingerprint: 'z', dedupKey: `d1-${k}` }),
        newJob({ idempotencyKey: `i2-${k}`, requestFingerprint: 'z' }),
        newJob({ dedupKey: `d2-${k}` }),
      ];
      const out = await Promise.all(burst.map((j) => a.store.create(j)));
      const [first, , , d1] = burst;
      const got = out.map((o) => [o.created ? 'created' : o.reason, o.job.id]);
      assert.deepEqual(got, [
        ['created', first!.id], ['idempotency', first!.id], ['idempotency-conflict', first!.id],
        ['created', d1!.id], ['dedup', d1!.id], ['dedup', d1!.id],
        // i2 was never stored (its job was a dedup): the next use of i2 is a new request.
        ['created', burst[6]!.id], ['created', burst[7]!.id],
      ]);
      for (const o of out) assert.equal((await b.store.get(o.job.id))?.status, 'queued');
      // getMany: the ones that exist, unknown ids left out.
      const made = [...new Set(out.map((o) => o.job.id))];
      const many = await b.store.getMany([...made, randomUUID()]);
      assert.deepEqual(many.map((j) => j.id).sort(), [...made].sort());
    });

    it('a created job is not runnable until enqueued; missing() names it, and the reconciler enqueues it', async () => {
      const r = await a.store.create(newJob({ processor: 'other' }));
      assert.ok(r.created);
      assert.deepEqual(await a.queue.lease(opts('w-x', { limits: { other: 10 } })), []);
      assert.deepEqual(await b.queue.missing([r.job]), [r.job.id]);
      const rec = new QueueReconciler({ store: a.store, queue: a.queue });
      // Only records older than a moment are repaired (younger ones may be between create and enqueue).
      await sleep(2100);
      assert.ok((await rec.reconcile()) >= 1);
      const got = await leaseUntil(b, opts('w-y', { limits: { other: 10 } }), 1);
      assert.equal(got[0]?.job.id, r.job.id);
      assert.ok((await b.queue.complete(got[0]!.lease, null)).applied);
    });

    it('concurrent leases never give one job to two workers', async () => {
      const jobs = await Promise.all(Array.from({ length: 30 }, () => submit(a)));
      const ids = new Set(jobs.map((j) => j.id));
      const taken: LeasedJob[] = [];
      await Promise.all(Array.from({ length: 6 }, (_, i) => (async () => {
        const p = i % 2 ? a : b;
        for (let k = 0; k < 10; k++) taken.push(...(await p.queue.lease(opts(`w-${i}`, { max: 3, limits: { sleep: 100 } }))));
      })()));
      const mine = taken.filter((t) => ids.has(t.job.id));
      assert.equal(mine.length, 30);
      assert.equal(new Set(mine.map((t) => t.job.id)).size, 30, 'no job leased twice');
      for (const t of mine) assert.ok((await a.queue.complete(t.lease, { ok: true })).applied);
    });

    it('per-processor concurrency holds across workers', async () => {
      await Promise.all(Array.from({ length: 6 }, () => submit(a, { processor: 'other' })));
      const limits = { other: 2 };
      const [x, y] = await Promise.all([a.queue.lease(opts('w-a', { limits })), b.queue.lease(opts('w-b', { limits }))]);
      assert.equal(x.length + y.length, 2);
      assert.deepEqual(await b.queue.lease(opts('w-c', { limits })), []);
      await a.queue.complete([...x, ...y][0]!.lease, null);
      const z = await leaseUntil(b, opts('w-c', { limits }), 1);
      assert.equal(z.length, 1);
      for (const l of [...x, ...y].slice(1).concat(z)) await a.queue.complete(l.lease, null);
      for (const l of await leaseUntil(a, opts('w-d', { limits: { other: 10 } }), 3)) await a.queue.complete(l.lease, null);
    });

    it('higher priority runs first, then submission order', async () => {
      const low = await submit(a, { processor: 'other', priority: -5 });
      const mid1 = await submit(a, { processor: 'other' });
      const high = await submit(a, { processor: 'other', priority: 50 });
      const mid2 = await submit(a, { processor: 'other' });
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        const [l] = await leaseUntil(b, opts('w-p', { max: 1, limits: { other: 1 } }), 1);
        order.push(l!.job.id);
        await b.queue.complete(l!.lease, null);
      }
      assert.deepEqual(order, [high.id, mid1.id, mid2.id, low.id]);
    });

    it('a failed attempt is retried after its backoff, then fails for good once attempts are used', async () => {
      const job = await submit(a, { processor: 'other', maxAttempts: 2 });
      const [l1] = await leaseUntil(a, opts('w-r', { limits: { other: 1 } }), 1);
      assert.equal(l1!.job.id, job.id);
      const f1 = await a.queue.fail(l1!.lease, { code: 'INTERNAL', message: 'boom' }, true, 400);
      assert.ok(f1.applied);
      assert.equal(f1.job!.status, 'queued');
      assert.deepEqual(await b.queue.lease(opts('w-r2', { limits: { other: 1 } })), [], 'not before its backoff');
      await sleep(450);
      const [l2] = await leaseUntil(b, opts('w-r2', { limits: { other: 1 } }), 1);
      assert.equal(l2!.job.id, job.id);
      assert.equal(l2!.job.attempts, 2);
      const f2 = await b.queue.fail(l2!.lease, { code: 'INTERNAL', message: 'boom' }, true, 10);
      assert.equal(f2.job!.status, 'failed');
    });

    it('an expired lease requeues the job; the old holder\'s writes are refused (lost lease)', async () => {
      const job = await submit(a, { processor: 'other', maxAttempts: 3 });
      const [old] = await leaseUntil(a, opts('w-frozen', { leaseMs: 200, limits: { other: 1 } }), 1);
      assert.equal(old!.job.id, job.id);
      await sleep(300);
      const requeued = await b.queue.requeueExpired();
      assert.ok(requeued.some((j) => j.id === job.id));
      const [fresh] = await leaseUntil(b, opts('w-new', { limits: { other: 1 } }), 1, 3000);
      assert.equal(fresh!.job.id, job.id);
      // The frozen worker resumes: nothing it writes lands.
      assert.equal(await a.queue.progress(old!.lease, 0.9, 'stale'), false);
      assert.equal(await a.queue.output(old!.lease, { name: 'x.txt', size: 1, mime: 'text/plain', sha256: 'a'.repeat(64) }), false);
      assert.equal(await a.queue.log(old!.lease, 'info', 'stale'), false);
      assert.equal((await a.queue.complete(old!.lease, { stale: true })).applied, false);
      assert.equal((await a.queue.fail(old!.lease, { code: 'INTERNAL', message: 'x' }, false, 0)).applied, false);
      const hb = await a.queue.heartbeat([old!.lease], 30_000);
      assert.deepEqual(hb.lost, [job.id]);
      assert.ok(await b.queue.progress(fresh!.lease, 0.5, 'fine'));
      const done = await b.queue.complete(fresh!.lease, { fresh: true });
      assert.ok(done.applied);
      const stored = (await a.store.get(job.id))!;
      assert.deepEqual(stored.result, { fresh: true });
      assert.deepEqual(stored.outputs, []);
    });

    it('cancel: a queued job ends at once; a running one is signalled to its holder', async () => {
      const queued = await submit(a, { processor: 'other' });
      const c1 = await b.store.requestCancel(queued.id);
      assert.equal(c1!.canceled, 'now');
      assert.equal(c1!.job.status, 'canceled');
      await b.queue.remove(queued.id, 'other');
      const running = await submit(a, { processor: 'other' });
      const [l] = await leaseUntil(a, opts('w-holder', { limits: { other: 1 } }), 1);
      assert.equal(l!.job.id, running.id);
      const heard: string[] = [];
      const off = a.queue.onCancel((id) => heard.push(id));
      const c2 = await b.store.requestCancel(running.id);
      assert.equal(c2!.canceled, 'requested');
      await b.queue.signalCancel(running.id);
      // The holder hears it through its cancel signal or, at the latest, its next heartbeat.
      const hb = await a.queue.heartbeat([l!.lease], 30_000);
      assert.ok(heard.includes(running.id) || hb.cancel.includes(running.id));
      off();
      assert.equal((await a.queue.canceled(l!.lease)).job!.status, 'canceled');
    });

    it('crash blame: jobs that shared a crashed worker run again alone, uncharged; a job alone is charged', async () => {
      const j1 = await submit(a, { processor: 'other', maxAttempts: 1 });
      const j2 = await submit(a, { processor: 'other', maxAttempts: 1 });
      const both = await leaseUntil(a, opts('w-crashed', { limits: { other: 5 } }), 2);
      assert.equal(both.length, 2);
      await b.queue.releaseWorker('w-crashed', { crashed: true });
      for (const id of [j1.id, j2.id]) {
        const j = (await b.store.get(id))!;
        assert.equal(j.status, 'queued', 'innocent neighbours are not failed');
        assert.equal(j.attempts, 0);
      }
      // A busy worker does not take solo jobs; an idle one takes exactly one.
      assert.deepEqual((await b.queue.lease(opts('w-busy', { busy: 1, limits: { other: 5 } }))).length, 0);
      const [solo] = await leaseUntil(b, opts('w-idle', { limits: { other: 5 } }), 1);
      assert.ok(solo!.solo);
      assert.equal((await b.queue.lease(opts('w-idle', { busy: 1, limits: { other: 5 } }))).length, 0);
      // It crashes again, alone: it is the culprit.
      await a.queue.releaseWorker('w-idle', { crashed: true });
      const culprit = (await a.store.get(solo!.job.id))!;
      assert.equal(culprit.status, 'failed');
      assert.equal(culprit.error?.code, 'WORKER_CRASHED');
      const [other] = await leaseUntil(a, opts('w-next', { limits: { other: 5 } }), 1);
      assert.ok((await a.queue.complete(other!.lease, null)).applied);
    });

    it('retry drops the outputs it replaces and queues the job again', async () => {
      const job = await submit(a, { processor: 'other', maxAttempts: 1 });
      const [l] = await leaseUntil(a, opts('w-o', { limits: { other: 1 } }), 1);
      assert.ok(await a.queue.output(l!.lease, { name: 'out.txt', size: 3, mime: 'text/plain', sha256: 'b'.repeat(64) }));
      await a.queue.fail(l!.lease, { code: 'PROCESSING_FAILED', message: 'x' }, false, 0);
      assert.deepEqual((await b.store.referencedBlobs(['b'.repeat(64)])).size, 1);
      const r = await b.store.retry(job.id);
      assert.equal(r!.job.status, 'queued');
      assert.deepEqual(r!.dropped.map((o) => o.name), ['out.txt']);
      assert.equal((await b.store.referencedBlobs(['b'.repeat(64)])).size, 0);
      assert.equal(await b.store.delete(job.id), null, 'a queued job is not deleted without a cancel');
      await b.store.requestCancel(job.id);
      assert.ok(await b.store.delete(job.id));
    });

    it('chains: a job waiting on another is released with its output in the same step as that success', async () => {
      const up = await submit(a, { processor: 'other' });
      const down = await b.store.create(newJob({ processor: 'other', input: { kind: 'job', job: up.id, output: 'out.bin' }, upstream: { job: up.id, output: 'out.bin' } }));
      assert.ok(down.created);
      assert.equal(down.job.status, 'waiting');
      const [l] = await leaseUntil(a, opts('w-up', { max: 1, limits: { other: 1 } }), 1);
      assert.equal(l!.job.id, up.id, 'the waiting job is not leased');
      const out = { name: 'out.bin', size: 5, mime: 'audio/wav', sha256: 'c'.repeat(64) };
      assert.ok(await a.queue.output(l!.lease, out));
      assert.ok((await a.queue.complete(l!.lease, null)).applied);
      const released = (await b.store.get(down.job.id))!;
      assert.equal(released.status, 'queued');
      assert.deepEqual(released.input, { kind: 'file', sha256: out.sha256, name: out.name, mime: out.mime, size: out.size });
      assert.deepEqual(released.upstream, { job: up.id, output: 'out.bin' });
      await b.queue.enqueue(released); // idempotent: the reconciler or the adapter may already have done it
      const [l2] = await leaseUntil(b, opts('w-down', { max: 1, limits: { other: 1 } }), 1);
      assert.equal(l2!.job.id, down.job.id);
      await b.queue.complete(l2!.lease, null);
      // Submitted after the upstream job succeeded: queued at once with the output as input.
      const late = await a.store.create(newJob({ processor: 'other', input: { kind: 'job', job: up.id, output: 'out.bin' }, upstream: { job: up.id, output: 'out.bin' } }));
      assert.equal(late.job.status, 'queued');
      assert.equal(late.job.input.kind, 'file');
      await a.store.requestCancel(late.job.id);
    });

    it('chains: upstream failure, cancel and a missing output end the waiting jobs with stable codes, down the chain', async () => {
      const ref = (job: string, output = 'x') => ({ input: { kind: 'job' as const, job, output }, upstream: { job, output } });
      await assert.rejects(a.store.create(newJob({ ...ref(randomUUID()) })), (e: { code?: string }) => e.code === 'UPSTREAM_UNKNOWN');
      // Failure, two levels down.
      const f = await submit(a, { processor: 'other', maxAttempts: 1 });
      const f1 = (await a.store.create(newJob({ processor: 'other', ...ref(f.id) }))).job;
      const f2 = (await a.store.create(newJob({ processor: 'other', ...ref(f1.id) }))).job;
      const [lf] = await leaseUntil(a, opts('w-f', { max: 1, limits: { other: 1 } }), 1);
      assert.equal(lf!.job.id, f.id);
      await a.queue.fail(lf!.lease, { code: 'PROCESSING_FAILED', message: 'no' }, false, 0);
      for (const id of [f1.id, f2.id]) {
        const j = (await b.store.get(id))!;
        assert.equal(j.status, 'failed');
        assert.equal(j.error?.code, 'UPSTREAM_FAILED');
      }
      await assert.rejects(b.store.create(newJob({ processor: 'other', ...ref(f.id) })), (e: { code?: string }) => e.code === 'UPSTREAM_FAILED');
      // Cancel of a waiting upstream.
      const c = await submit(a, { processor: 'other' });
      const c1 = (await a.store.create(newJob({ processor: 'other', ...ref(c.id) }))).job;
      await b.store.requestCancel(c.id);
      const c1now = (await a.store.get(c1.id))!;
      assert.equal(c1now.status, 'canceled');
      assert.match(c1now.error!.message, new RegExp(c.id));
      // Success without the named output.
      const m = await submit(a, { processor: 'other' });
      const m1 = (await a.store.create(newJob({ processor: 'other', ...ref(m.id, 'nope.wav') }))).job;
      const [lm] = await leaseUntil(a, opts('w-m', { max: 1, limits: { other: 1 } }), 1);
      assert.equal(lm!.job.id, m.id);
      await a.queue.complete(lm!.lease, null);
      const m1now = (await b.store.get(m1.id))!;
      assert.equal(m1now.status, 'failed');
      assert.equal(m1now.error?.code, 'UPSTREAM_OUTPUT_MISSING');
    });

    it('events arrive in order without gaps while two processes write', async () => {
      const seen: number[] = [];
      const mine = new Set<string>();
      const off = a.events.subscribe('*', (ev, id) => { if (mine.has(ev.jobId)) seen.push(id); });
      const writers = [a, b].map(async (p, w) => {
        for (let i = 0; i < 40; i++) {
          const jobId = `ev-${w}-${i}-${randomUUID()}`;
          mine.add(jobId);
          await p.events.append({ type: 'log', jobId, level: 'info', message: `m${i}` });
        }
      });
      await Promise.all(writers);
      const end = Date.now() + 5000;
      while (seen.length < 80 && Date.now() < end) await sleep(20);
      off();
      assert.equal(seen.length, 80);
      assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'in id order');
      const stored = (await b.events.read(seen[0]! - 1, 10_000)).filter((e) => mine.has(e.event.jobId)).map((e) => e.id);
      assert.deepEqual(stored, seen, 'the reader missed nothing that was stored');
    });
  });
}
