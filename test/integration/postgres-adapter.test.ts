import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import postgres from 'postgres';
import { openPostgres, type PgDb } from '../../src/adapters/postgres/postgres.db.js';
import { PgEventLog } from '../../src/adapters/postgres/postgres.event-log.js';
import { PgJobStore } from '../../src/adapters/postgres/postgres.job-store.js';
import { PgLeaseRecords } from '../../src/adapters/postgres/postgres.lease-records.js';
import { migratePostgres } from '../../src/adapters/postgres/postgres.migrations.js';
import { MediaflowError } from '../../src/core/errors.js';
import type { JobEvent, NewJob } from '../../src/core/job.types.js';
import { ADMIN_URL, createPostgresDatabase, postgresBackendAvailable } from '../conformance/backend.postgres.js';
import { postgresBinDir, startPrivatePostgres } from '../helpers/private-postgres.js';

let n = 0;
function newJob(over: Partial<NewJob> = {}): NewJob {
  return {
    id: `job-${process.pid}-${++n}`, processor: 'sleep', processorVersion: '1', params: {}, input: { kind: 'url', url: 'http://x/' },
    priority: 0, maxAttempts: 2, dedupKey: null, idempotencyKey: null, requestFingerprint: null, meta: {}, webhook: null, upstream: null, ...over,
  };
}

/** Waits for `cond` (events arrive asynchronously); fails the test after `ms`. */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** One process's adapters on its own connection pool. */
function node(url: string, poolSize = 5) {
  const pg = openPostgres(url, { poolSize });
  return { pg, store: new PgJobStore(pg), leases: new PgLeaseRecords(pg), events: new PgEventLog(pg) };
}
type Node = ReturnType<typeof node>;
/** Claims one job (the port claims batches of one processor's jobs). */
async function claim1(n: { store: PgJobStore; leases: PgLeaseRecords }, id: string, workerId: string, leaseMs: number, limit: number) {
  const job = await n.store.get(id);
  return (await n.leases.claim([id], job!.processor, workerId, leaseMs, limit)).leased[0] ?? null;
}

const closeNode = async (x: Node) => { await x.events.close(); await x.leases.close(); await x.store.close(); };

const available = await postgresBackendAvailable();

describe('PostgreSQL adapter', { skip: available ? false : `PostgreSQL is not reachable at ${ADMIN_URL} (set TEST_POSTGRES_URL)` }, () => {
  let db: { url: string; drop(): Promise<void> };
  let a: Node;
  let b: Node;

  before(async () => {
    db = await createPostgresDatabase({ migrate: false });
    a = node(db.url);
    b = node(db.url);
  });
  after(async () => {
    await closeNode(a);
    await closeNode(b);
    await db.drop();
  });

  test('migrations run once when two processes start together, and make the seed-003 view', async () => {
    const [first, second] = await Promise.all([migratePostgres(db.url), migratePostgres(db.url)]);
    assert.deepEqual([...first, ...second].sort(), ['001_jobs', '002_image_results', '003_chains_workers', '004_webhook_outbox', '005_event_positions']);
    assert.deepEqual(await migratePostgres(db.url), []);

    const job = newJob({ processor: 'orientation', meta: { source: 'compat:seed003', name: 'cat.jpg' } });
    await a.store.create(job);
    const claimed = (await claim1(a, job.id, 'w1', 10_000, 5))!;
    await a.leases.complete(claimed.lease, { degree: 90 });
    const sql = postgres(db.url, { max: 1 });
    const rows = await sql`SELECT filename, status, degree, created_at FROM image_results`;
    await sql.end();
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.filename, 'cat.jpg');
    assert.equal(rows[0]!.status, 'completed');
    assert.equal(rows[0]!.degree, 90);
    assert.match(rows[0]!.created_at, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
  });

  test('jobs round-trip: params, input, meta and result keep their JSON values', async () => {
    const job = newJob({ params: { lang: 'eng', psm: 6, list: [1, 'two'] }, input: { kind: 'file', sha256: 'ab'.repeat(32), name: 'a.png', mime: 'image/png', size: 12 }, meta: { name: 'a.png', note: 'x' } });
    const out = await a.store.create(job);
    assert.equal(out.created, true);
    const got = (await b.store.get(job.id))!;
    assert.deepEqual(got.params, job.params);
    assert.deepEqual(got.input, job.input);
    assert.deepEqual(got.meta, job.meta);
    assert.equal(got.status, 'queued');
    const page = await b.store.list({ limit: 10, meta: { key: 'note', value: 'x' } });
    assert.deepEqual(page.items.map((j) => j.id), [job.id]);
    assert.deepEqual([...await a.store.referencedBlobs(['ab'.repeat(32), 'cd'.repeat(32)])], ['ab'.repeat(32)]);
  });

  test('concurrent creates with the same dedup key make one job, across pools', async () => {
    const dedupKey = `dedup-${Date.now()}`;
    const outcomes = await Promise.all(Array.from({ length: 16 }, (_, i) => (i % 2 ? a : b).store.create(newJob({ dedupKey }))));
    const created = outcomes.filter((o) => o.created);
    assert.equal(created.length, 1);
    for (const o of outcomes) assert.equal(o.job.id, created[0]!.job.id);
    assert.ok(outcomes.filter((o) => !o.created).every((o) => !o.created && o.reason === 'dedup'));
  });

  test('an Idempotency-Key replays the same request and refuses a different one', async () => {
    const idempotencyKey = `idem-${Date.now()}`;
    const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => (i % 2 ? a : b).store.create(newJob({ idempotencyKey, requestFingerprint: 'f1' }))));
    assert.equal(outcomes.filter((o) => o.created).length, 1);
    const first = outcomes.find((o) => o.created)!.job;
    const replay = await a.store.create(newJob({ idempotencyKey, requestFingerprint: 'f1' }));
    assert.deepEqual([replay.created, !replay.created && replay.reason, replay.job.id], [false, 'idempotency', first.id]);
    const conflict = await b.store.create(newJob({ idempotencyKey, requestFingerprint: 'f2' }));
    assert.deepEqual([conflict.created, !conflict.created && conflict.reason, conflict.job.id], [false, 'idempotency-conflict', first.id]);
  });

  test('two claimers never get one job', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await a.store.create(newJob({ processor: 'race' }))).job.id);
    const claims = await Promise.all(ids.flatMap((id) => [claim1(a, id, 'wa', 10_000, 100), claim1(b, id, 'wb', 10_000, 100)]));
    const won = claims.filter((c) => c !== null);
    assert.equal(won.length, 20);
    assert.deepEqual(won.map((c) => c.job.id).sort(), [...ids].sort());
    assert.equal(new Set(won.map((c) => c.lease.token)).size, 20);
    for (const c of won) assert.deepEqual([c.job.status, c.job.attempts], ['running', 1]);
  });

  test('per-processor concurrency holds across workers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await a.store.create(newJob({ processor: 'limited' }))).job.id);
    const claims = await Promise.all(ids.map((id, i) => claim1(i % 2 ? a : b, id, `w${i}`, 10_000, 2)));
    const won = claims.filter((c) => c !== null);
    assert.equal(won.length, 2);
    assert.equal((await a.leases.running()).limited, 2);
    assert.equal((await b.leases.queued()).limited, 8);
    await a.leases.complete(won[0]!.lease, { ok: true });
    const next = await Promise.all(ids.filter((id) => !won.some((w) => w.job.id === id)).map((id) => claim1(b, id, 'wz', 10_000, 2)));
    assert.equal(next.filter((c) => c !== null).length, 1);
  });

  test('a batch claim takes the due, queued ones, highest priority first, up to the limit; overlapping batches never share a job', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await a.store.create(newJob({ processor: 'batch', priority: i }))).job.id);
    const canceled = (await a.store.create(newJob({ processor: 'batch', priority: 50 }))).job.id;
    await a.store.requestCancel(canceled);
    const { leased: first, unclaimed } = await a.leases.claim([canceled, ...ids], 'batch', 'wa', 10_000, 4);
    assert.deepEqual(unclaimed.map((u) => u.id).sort(), ids.slice(0, 6).sort(), 'over the limit: still queued, not taken');
    assert.deepEqual(first.map((l) => l.job.id).sort(), ids.slice(6).sort(), 'the four of highest priority');
    assert.equal(new Set(first.map((l) => l.lease.token)).size, 4);
    for (const l of first) assert.deepEqual([l.job.status, l.job.attempts, l.lease.workerId], ['running', 1, 'wa']);
    assert.deepEqual((await b.leases.claim(ids, 'batch', 'wb', 10_000, 4)).leased, [], 'at the limit');
    const rest = ids.slice(0, 6);
    const [x, y] = await Promise.all([a.leases.claim(rest, 'batch', 'wx', 10_000, 100), b.leases.claim(rest, 'batch', 'wy', 10_000, 100)]);
    assert.deepEqual([...x.leased, ...y.leased].map((l) => l.job.id).sort(), [...rest].sort(), 'each once, between the two');
  });

  test('completions sent together are written together, each under its own lease', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) ids.push((await a.store.create(newJob({ processor: 'together' }))).job.id);
    const { leased } = await a.leases.claim(ids, 'together', 'wt', 10_000, 10);
    assert.equal(leased.length, 6);
    const stale = { ...leased[5]!.lease, token: 'not-the-token' };
    const outcomes = await Promise.all([...leased.slice(0, 5).map((l, i) => a.leases.complete(l.lease, { n: i })), a.leases.complete(stale, { n: 5 })]);
    assert.deepEqual(outcomes.map((o) => o.applied), [true, true, true, true, true, false]);
    for (let i = 0; i < 5; i++) {
      const job = (await b.store.get(leased[i]!.job.id))!;
      assert.deepEqual([job.status, job.result, job.progress], ['succeeded', { n: i }, 1]);
      assert.equal(outcomes[i]!.job!.status, 'succeeded');
    }
    assert.equal((await b.store.get(leased[5]!.job.id))!.status, 'running', 'the stale lease changed nothing');
    const ended = (await a.events.read(0, 10_000)).filter((e) => e.event.type === 'done' && ids.includes(e.event.jobId));
    assert.equal(ended.length, 5, 'one done event per completion');
  });

  test('a write under a lost lease is refused and changes nothing', async () => {
    const job = (await a.store.create(newJob({ processor: 'lost', maxAttempts: 3 }))).job;
    const first = (await claim1(a, job.id, 'w1', 50, 5))!;
    await sleep(120);
    const requeued = await b.leases.requeueExpired();
    assert.ok(requeued.some((r) => r.job.id === job.id && r.job.status === 'queued'));
    const retryAt = requeued.find((r) => r.job.id === job.id)!.retryAt!;
    await sleep(Math.max(0, retryAt - Date.now()) + 50);
    const second = (await claim1(b, job.id, 'w2', 10_000, 5))!;
    assert.notEqual(second.lease.token, first.lease.token);

    assert.equal(await a.leases.progress(first.lease, 0.5, 'old'), false);
    assert.equal(await a.leases.output(first.lease, { name: 'x.txt', size: 1, mime: 'text/plain', sha256: 'ee'.repeat(32) }), false);
    assert.equal(await a.leases.log(first.lease, 'info', 'old'), false);
    assert.deepEqual(await a.leases.complete(first.lease, { from: 'old' }), { applied: false, job: null });
    assert.deepEqual(await a.leases.fail(first.lease, { code: 'X', message: 'x' }, true, 10), { applied: false, job: null });
    assert.deepEqual(await a.leases.renew([first.lease], 10_000), { cancel: [], lost: [job.id] });
    let now = (await a.store.get(job.id))!;
    assert.deepEqual([now.status, now.attempts, now.progress, now.outputs.length], ['running', 2, 0, 0]);

    assert.equal(await b.leases.progress(second.lease, 0.5, 'new'), true);
    assert.equal(await b.leases.output(second.lease, { name: 'y.txt', size: 2, mime: 'text/plain', sha256: 'ff'.repeat(32) }), true);
    const done = await b.leases.complete(second.lease, { from: 'new' });
    assert.equal(done.applied, true);
    now = (await a.store.get(job.id))!;
    assert.deepEqual([now.status, now.result, now.outputs.map((o) => o.name)], ['succeeded', { from: 'new' }, ['y.txt']]);
  });

  test('an expired lease is requeued, then failed WORKER_CRASHED when out of attempts', async () => {
    const job = (await a.store.create(newJob({ processor: 'expire', maxAttempts: 2 }))).job;
    await claim1(a, job.id, 'w1', 30, 5);
    await sleep(80);
    const first = (await b.leases.requeueExpired()).find((r) => r.job.id === job.id)!;
    assert.deepEqual([first.job.status, first.job.attempts, first.job.error?.code], ['queued', 1, 'WORKER_CRASHED']);
    assert.ok(first.retryAt! > Date.parse(first.job.updatedAt));
    await sleep(Math.max(0, first.retryAt! - Date.now()) + 50);
    await claim1(a, job.id, 'w2', 30, 5);
    await sleep(80);
    const second = (await a.leases.requeueExpired()).find((r) => r.job.id === job.id)!;
    assert.deepEqual([second.job.status, second.job.attempts, second.job.error?.code, second.retryAt], ['failed', 2, 'WORKER_CRASHED', null]);
  });

  test('a failure with attempts left is retried after backoffMs × 2^(attempt-1)', async () => {
    const job = (await a.store.create(newJob({ processor: 'backoff', maxAttempts: 3 }))).job;
    const err = { code: 'URL_TIMEOUT', message: 'slow' };
    // The run time is set by the server's clock during `fail`: between the call and its answer, plus the backoff.
    const within = (retryAt: number, from: number, to: number, delay: number) =>
      assert.ok(retryAt >= from + delay - 5 && retryAt <= to + delay + 5, `retryAt ${retryAt - from} ms after the call, for a ${delay} ms backoff`);
    const c1 = (await claim1(a, job.id, 'w1', 10_000, 5))!;
    const t1 = Date.now();
    const f1 = await a.leases.fail(c1.lease, err, true, 600);
    within(f1.retryAt!, t1, Date.now(), 600);
    assert.equal(f1.job!.status, 'queued');
    assert.equal(await claim1(b, job.id, 'w2', 10_000, 5), null, 'not runnable before retryAt');
    await sleep(f1.retryAt! - Date.now() + 50);
    const c2 = (await claim1(b, job.id, 'w2', 10_000, 5))!;
    assert.equal(c2.job.attempts, 2);
    const t2 = Date.now();
    const f2 = await b.leases.fail(c2.lease, err, true, 600);
    within(f2.retryAt!, t2, Date.now(), 1200);
    await sleep(f2.retryAt! - Date.now() + 50);
    const c3 = (await claim1(a, job.id, 'w3', 10_000, 5))!;
    const f3 = await a.leases.fail(c3.lease, err, true, 400);
    assert.deepEqual([f3.job!.status, f3.job!.error, f3.retryAt], ['failed', err, undefined]);
  });

  test('a crashed worker: a job that ran alone pays the attempt; neighbours are spared and run solo', async () => {
    const alone = (await a.store.create(newJob({ processor: 'blame', maxAttempts: 1 }))).job;
    await claim1(a, alone.id, 'solo-worker', 10_000, 10);
    const [culprit] = await a.leases.releaseWorker('solo-worker', true);
    assert.deepEqual([culprit!.job.status, culprit!.job.error?.code], ['failed', 'WORKER_CRASHED']);

    const pair = [(await a.store.create(newJob({ processor: 'blame' }))).job, (await a.store.create(newJob({ processor: 'blame' }))).job];
    for (const j of pair) await claim1(a, j.id, 'busy-worker', 10_000, 10);
    const spared = await b.leases.releaseWorker('busy-worker', true);
    assert.deepEqual(spared.map((r) => [r.job.status, r.job.attempts]), [['queued', 0], ['queued', 0]]);
    const again = (await claim1(b, pair[0]!.id, 'w9', 10_000, 10))!;
    assert.equal(again.solo, true);

    const clean = (await a.store.create(newJob({ processor: 'blame' }))).job;
    await claim1(a, clean.id, 'leaving', 10_000, 10);
    const [back] = await a.leases.releaseWorker('leaving', false);
    assert.deepEqual([back!.job.status, back!.job.attempts], ['queued', 0]);
    assert.equal((await claim1(a, clean.id, 'w10', 10_000, 10))!.solo, false);
  });

  test('cancel: a queued job at once, a running one through its lease; retry drops outputs', async () => {
    const q = (await a.store.create(newJob({ processor: 'cancel' }))).job;
    const c1 = (await b.store.requestCancel(q.id))!;
    assert.deepEqual([c1.canceled, c1.job.status, c1.job.error?.code], ['now', 'canceled', 'JOB_CANCELED']);
    assert.equal(await claim1(a, q.id, 'w', 10_000, 5), null);

    const r = (await a.store.create(newJob({ processor: 'cancel' }))).job;
    const lease = (await claim1(a, r.id, 'w', 10_000, 5))!.lease;
    await a.leases.output(lease, { name: 'part.txt', size: 3, mime: 'text/plain', sha256: '12'.repeat(32) });
    assert.equal((await b.store.requestCancel(r.id))!.canceled, 'requested');
    assert.deepEqual(await a.leases.renew([lease], 10_000), { cancel: [r.id], lost: [] });
    assert.equal((await a.leases.canceled(lease)).job!.status, 'canceled');
    assert.equal((await b.store.requestCancel(r.id))!.canceled, 'no');
    assert.equal(await b.store.delete(q.id).then((j) => j?.id), q.id);

    const retried = (await b.store.retry(r.id))!;
    assert.deepEqual([retried.job.status, retried.job.attempts, retried.job.outputs.length], ['queued', 0, 0]);
    assert.deepEqual(retried.dropped.map((o) => o.name), ['part.txt']);
    assert.equal(await b.store.retry(r.id), null);
    assert.equal(await b.store.delete(r.id), null, 'a queued job is not deleted');
  });

  test('events arrive in order without gaps while two pools write concurrently', async () => {
    const seen: number[] = [];
    const all: Array<{ id: number; event: JobEvent }> = [];
    const reader = node(db.url, 2);
    const unsubscribe = reader.events.subscribe('*', (event, id) => { seen.push(id); all.push({ id, event }); });
    await reader.events.ready();
    const from = (await a.events.lastId());
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      const w = i % 2 ? a : b;
      writes.push(i % 3 === 0
        ? w.store.create(newJob({ processor: 'events' }))
        : w.events.append({ type: 'log', jobId: `events-${i % 7}`, level: 'info', message: `m${i}` }));
    }
    await Promise.all(writes);
    const last = await a.events.lastId();
    await until(() => seen.length > 0 && seen[seen.length - 1]! >= last, 'the subscriber to catch up');
    unsubscribe();
    const stored = (await a.events.read(from, 10_000)).map((e) => e.id);
    assert.deepEqual(seen.filter((id) => id > from), stored, 'the subscriber saw every stored event, in id order');
    assert.equal(stored.length, 150);
    await closeNode(reader);
  });

  test('LISTEN wakes a subscriber in another process at once (no poll)', async () => {
    const listener = openPostgres(db.url, { poolSize: 2 });
    const log = new PgEventLog(listener, { pollMs: 3_600_000 });
    const got: JobEvent[] = [];
    log.subscribe('wake-job', (e) => got.push(e));
    log.subscribe('other', () => assert.fail('only subscribed jobs are delivered'));
    await log.ready();
    await b.events.append({ type: 'log', jobId: 'wake-job', level: 'info', message: 'hello' });
    await until(() => got.length === 1, 'the notification');
    assert.deepEqual(got, [{ type: 'log', jobId: 'wake-job', level: 'info', message: 'hello' }]);
    await log.close();
  });

  test('listings for the reconciler, retention and metrics', async () => {
    const q1 = (await a.store.create(newJob({ processor: 'listing' }))).job;
    const q2 = (await a.store.create(newJob({ processor: 'listing' }))).job;
    const ended = (await a.store.create(newJob({ processor: 'listing' }))).job;
    await a.store.requestCancel(ended.id);
    const later = new Date(Date.now() + 60_000);
    const queued = (await b.store.listQueued(later, 0, 10_000)).filter((r) => r.job.processor === 'listing');
    assert.deepEqual(queued.map((r) => r.job.id), [q1.id, q2.id]);
    const rest = await b.store.listQueued(later, queued[0]!.seq, 10_000);
    assert.ok(rest.some((r) => r.job.id === q2.id) && !rest.some((r) => r.job.id === q1.id), 'the cursor skips what was listed');
    assert.ok((await b.store.listEndedBefore(later, 10_000)).some((j) => j.id === ended.id));
    assert.ok(!(await b.store.listEndedBefore(new Date(Date.now() - 60_000), 10_000)).some((j) => j.id === ended.id));
    const counts = (await b.store.countByStatus()).filter((c) => c.processor === 'listing');
    assert.deepEqual(counts.sort((x, y) => x.status.localeCompare(y.status)), [
      { processor: 'listing', status: 'canceled', count: 1 },
      { processor: 'listing', status: 'queued', count: 2 },
    ]);
    const page1 = await b.store.list({ processor: ['listing'], limit: 2 });
    assert.deepEqual(page1.items.map((j) => j.id), [ended.id, q2.id]);
    const page2 = await b.store.list({ processor: ['listing'], limit: 2, cursor: page1.nextCursor! });
    assert.deepEqual([page2.items.map((j) => j.id), page2.nextCursor], [[q1.id], null]);
  });

  test('events are pruned by age', async () => {
    await a.events.append({ type: 'log', jobId: 'prune', level: 'info', message: 'old' });
    await a.events.prune(new Date(Date.now() + 60_000));
    assert.deepEqual(await a.events.read(0, 10), []);
  });
});

describe('PostgreSQL adapter across a server restart', { skip: postgresBinDir() ? false : 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin to run a private server' }, () => {
  test('calls fail with STORE_UNAVAILABLE while the server is down and work again after, without a restart', { timeout: 120_000 }, async () => {
    const server = await startPrivatePostgres();
    let pg: PgDb | null = null;
    try {
      await migratePostgres(server.url);
      pg = openPostgres(server.url, { poolSize: 4 });
      const store = new PgJobStore(pg);
      const leases = new PgLeaseRecords(pg);
      const events = new PgEventLog(pg, { pollMs: 200 });
      const other = node(server.url, 2);
      const got: string[] = [];
      events.subscribe('*', (e) => { if (e.type === 'log') got.push(e.message); });
      await events.ready();
      const job = (await store.create(newJob({ processor: 'restart' }))).job;
      const claimed = (await claim1({ store, leases }, job.id, 'w1', 60_000, 5))!;
      await other.events.append({ type: 'log', jobId: job.id, level: 'info', message: 'before' });
      await until(() => got.includes('before'), 'the event before the restart');

      server.stop();
      await assert.rejects(store.get(job.id), (err: unknown) => err instanceof MediaflowError && err.code === 'STORE_UNAVAILABLE' && err.status === 503);
      await assert.rejects(leases.progress(claimed.lease, 0.3, null), (err: unknown) => err instanceof MediaflowError && err.code === 'STORE_UNAVAILABLE');
      await assert.rejects(store.create(newJob()), (err: unknown) => err instanceof MediaflowError && err.code === 'STORE_UNAVAILABLE');
      await sleep(500);
      server.start();

      await until(async () => (await store.get(job.id).catch(() => null)) !== null, 'the store to answer again');
      assert.equal(await leases.progress(claimed.lease, 0.6, 'after'), true, 'the lease survived the restart');
      assert.equal((await store.get(job.id))!.progress, 0.6);
      await other.events.append({ type: 'log', jobId: job.id, level: 'info', message: 'after' });
      await until(() => got.includes('after'), 'the event after the restart');
      assert.equal((await leases.complete(claimed.lease, { ok: 1 })).applied, true);

      // A crash of the server (no clean goodbye on the sockets), while calls are in flight.
      const inFlight = Array.from({ length: 8 }, (_, i) => store.create(newJob({ processor: 'restart', dedupKey: `crash-${i}` })).catch((e: unknown) => e));
      server.stop('immediate');
      for (const r of await Promise.all(inFlight)) {
        if (r instanceof Error) assert.ok(r instanceof MediaflowError && r.code === 'STORE_UNAVAILABLE', `${r}`);
      }
      server.start();
      await until(async () => (await store.create(newJob({ processor: 'restart' })).catch(() => null)) !== null, 'creates to succeed again');
      await other.events.append({ type: 'log', jobId: job.id, level: 'info', message: 'after crash' });
      await until(() => got.includes('after crash'), 'the event after the crash');
      await events.close();
      await leases.close();
      await store.close();
      await closeNode(other);
      pg = null;
    } finally {
      await pg?.end();
      server.destroy();
    }
  });
});
