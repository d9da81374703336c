import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { rmSync } from 'node:fs';
import { openSqlite } from '../../src/adapters/sqlite/sqlite.db.js';
import { SqliteJobStore } from '../../src/adapters/sqlite/sqlite.store.js';
import { SqliteQueue } from '../../src/adapters/sqlite/sqlite.queue.js';
import type { NewJob } from '../../src/core/job.types.js';
import { tempDir } from '../helpers/server.js';

function setup() {
  const dir = tempDir();
  const db = openSqlite(path.join(dir, 'mediaflow.db'));
  // A second connection, as a worker process would open.
  const db2 = openSqlite(path.join(dir, 'mediaflow.db'));
  return { store: new SqliteJobStore(db), queue: new SqliteQueue(db), queue2: new SqliteQueue(db2), close: () => { db.close(); db2.close(); rmSync(dir, { recursive: true, force: true }); } };
}

let n = 0;
function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: `job-${++n}`, processor: 'sleep', processorVersion: '1', params: {}, input: { kind: 'url', url: 'http://x/' },
    priority: 0, maxAttempts: 2, dedupKey: null, idempotencyKey: null, requestFingerprint: null, meta: {}, webhook: null, ...over,
  };
}

test('a job is leased by one worker only, across connections', async () => {
  const { store, queue, queue2, close } = setup();
  await store.create(newJob());
  const [a, b] = await Promise.all([
    queue.lease({ workerId: 'w1', limits: { sleep: 5 }, max: 5, leaseMs: 1000 }),
    queue2.lease({ workerId: 'w2', limits: { sleep: 5 }, max: 5, leaseMs: 1000 }),
  ]);
  assert.equal(a.length + b.length, 1);
  const job = (a[0] ?? b[0])!;
  assert.equal(job.status, 'running');
  assert.equal(job.attempts, 1);
  close();
});

test('per-processor concurrency holds across workers; priority orders the queue', async () => {
  const { store, queue, queue2, close } = setup();
  for (let i = 0; i < 4; i++) await store.create(newJob({ id: `c${i}`, priority: i === 3 ? 10 : 0 }));
  const first = await queue.lease({ workerId: 'w1', limits: { sleep: 2 }, max: 10, leaseMs: 1000 });
  assert.deepEqual(first.map((j) => j.id), ['c3', 'c0']);
  assert.equal((await queue2.lease({ workerId: 'w2', limits: { sleep: 2 }, max: 10, leaseMs: 1000 })).length, 0);
  await queue.complete('c3', 'w1', { ok: true });
  const next = await queue2.lease({ workerId: 'w2', limits: { sleep: 2 }, max: 10, leaseMs: 1000 });
  assert.deepEqual(next.map((j) => j.id), ['c1']);
  close();
});

test('an expired lease puts the job back; attempts used up end it failed with WORKER_CRASHED', async () => {
  const { store, queue, close } = setup();
  await store.create(newJob({ id: 'exp', maxAttempts: 2 }));
  await queue.lease({ workerId: 'dead1', limits: { sleep: 1 }, max: 1, leaseMs: 1 });
  await new Promise((r) => setTimeout(r, 10));
  const requeued = await queue.requeueExpired();
  assert.equal(requeued[0]!.status, 'queued');
  // The retry waits for its backoff.
  assert.equal((await queue.lease({ workerId: 'w', limits: { sleep: 1 }, max: 1, leaseMs: 1 })).length, 0);
  await new Promise((r) => setTimeout(r, 250));
  const again = await queue.lease({ workerId: 'dead2', limits: { sleep: 1 }, max: 1, leaseMs: 1 });
  assert.equal(again[0]!.attempts, 2);
  await new Promise((r) => setTimeout(r, 10));
  const failed = await queue.requeueExpired();
  assert.equal(failed[0]!.status, 'failed');
  assert.equal(failed[0]!.error!.code, 'WORKER_CRASHED');
  close();
});

test('a lost lease cannot overwrite the new owner\'s result', async () => {
  const { store, queue, close } = setup();
  await store.create(newJob({ id: 'lost' }));
  await queue.lease({ workerId: 'old', limits: { sleep: 1 }, max: 1, leaseMs: 1 });
  await new Promise((r) => setTimeout(r, 10));
  await queue.requeueExpired();
  await new Promise((r) => setTimeout(r, 250));
  await queue.lease({ workerId: 'new', limits: { sleep: 1 }, max: 1, leaseMs: 10_000 });
  assert.equal((await queue.complete('lost', 'old', { stale: true })).applied, false);
  assert.equal((await queue.complete('lost', 'new', { fresh: true })).applied, true);
  assert.deepEqual((await store.get('lost'))!.result, { fresh: true });
  close();
});

test('retryable failures back off then run again; non-retryable ones end the job', async () => {
  const { store, queue, close } = setup();
  await store.create(newJob({ id: 'r1', maxAttempts: 3 }));
  await queue.lease({ workerId: 'w', limits: { sleep: 1 }, max: 1, leaseMs: 10_000 });
  const r = await queue.fail('r1', 'w', { code: 'INTERNAL', message: 'boom' }, true, 50);
  assert.equal(r.job!.status, 'queued');
  await new Promise((res) => setTimeout(res, 80));
  await queue.lease({ workerId: 'w', limits: { sleep: 1 }, max: 1, leaseMs: 10_000 });
  const f = await queue.fail('r1', 'w', { code: 'INPUT_CORRUPT', message: 'bad' }, false, 50);
  assert.equal(f.job!.status, 'failed');
  assert.equal(f.job!.attempts, 2);
  close();
});

test('clean shutdown hands a job back without spending an attempt', async () => {
  const { store, queue, close } = setup();
  await store.create(newJob({ id: 's1', maxAttempts: 1 }));
  await queue.lease({ workerId: 'w', limits: { sleep: 1 }, max: 1, leaseMs: 10_000 });
  const [job] = await queue.releaseWorker('w', { crashed: false });
  assert.equal(job!.status, 'queued');
  assert.equal(job!.attempts, 0);
  close();
});

test('dedup and Idempotency-Key are decided atomically', async () => {
  const { store, close } = setup();
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create(newJob({ id: `d${i}`, dedupKey: 'same' }))));
  assert.equal(results.filter((r) => r.created).length, 1);
  assert.equal(new Set(results.map((r) => r.job.id)).size, 1);
  const a = await store.create(newJob({ id: 'i1', idempotencyKey: 'k', requestFingerprint: 'f1' }));
  const b = await store.create(newJob({ id: 'i2', idempotencyKey: 'k', requestFingerprint: 'f1' }));
  const c = await store.create(newJob({ id: 'i3', idempotencyKey: 'k', requestFingerprint: 'f2' }));
  assert.ok(a.created);
  assert.equal(b.created ? 'created' : b.reason, 'idempotency');
  assert.equal(c.created ? 'created' : c.reason, 'idempotency-conflict');
  close();
});

test('cursor pagination walks every job once, newest first, with filters', async () => {
  const { store, queue, close } = setup();
  for (let i = 0; i < 25; i++) await store.create(newJob({ id: `p${String(i).padStart(2, '0')}`, processor: i % 2 ? 'sleep' : 'noop' }));
  await queue.lease({ workerId: 'w', limits: { noop: 100 }, max: 3, leaseMs: 10_000 });
  const seen: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await store.list({ limit: 7, cursor });
    seen.push(...page.items.map((j) => j.id));
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  assert.equal(seen.length, 25);
  assert.equal(seen[0], 'p24');
  assert.equal(new Set(seen).size, 25);
  const running = await store.list({ limit: 50, status: ['running'], processor: ['noop'] });
  assert.equal(running.items.length, 3);
  close();
});
