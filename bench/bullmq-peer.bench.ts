/**
 * The peer figure for the distributed mode: plain BullMQ on the same Redis — no-op jobs/s from
 * add to processed, and add→start latency when idle — measured side by side with Mediaflow's
 * BullMQ queue adapter doing the same through `enqueue` / `lease` / `complete` (its lease records
 * in memory here, so the figure is the Redis side of the adapter alone; PostgreSQL's claim comes on
 * top in the distributed-mode benchmark).
 *
 *   npx tsx bench/bullmq-peer.bench.ts        (MEDIAFLOW_BENCH_REDIS_URL, default redis://127.0.0.1:6379)
 *
 * Prints figures and writes them into bench/RESULTS.md under "## bullmq-peer".
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { BullmqQueue } from '../src/adapters/bullmq/bullmq.queue.js';
import { MemoryLeaseRecords } from '../test/helpers/memory-lease-records.js';
import { writeResultsSection } from './results-file.js';

const URL = process.env.MEDIAFLOW_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const N = Number(process.env.BENCH_JOBS ?? 5000);
const CONCURRENCY = 16;
const SAMPLES = 300;
const PREFIX = `mfbench:${randomUUID().slice(0, 8)}`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;

function redis(): Redis {
  return new Redis(URL, { maxRetriesPerRequest: null });
}

/** Plain BullMQ: a Worker with a no-op processor at concurrency 16; jobs added while it runs. */
export async function bullmqThroughput(): Promise<number> {
  const conn = redis();
  const queue = new Queue('noop', { connection: conn, prefix: `${PREFIX}:peer` });
  let done = 0;
  let resolveAll!: () => void;
  const all = new Promise<void>((r) => { resolveAll = r; });
  const worker = new Worker('noop', async () => {}, { connection: conn, prefix: `${PREFIX}:peer`, concurrency: CONCURRENCY });
  worker.on('completed', () => { if (++done === N) resolveAll(); });
  await worker.waitUntilReady();
  const t0 = performance.now();
  // One add per job, 500 in flight, as an API node adds them (and as the adapter does below).
  for (let i = 0; i < N; i += 500) {
    await Promise.all(Array.from({ length: Math.min(500, N - i) }, (_, k) =>
      queue.add('noop', `j${i + k}`, { removeOnComplete: true, removeOnFail: true })));
  }
  await all;
  const s = (performance.now() - t0) / 1000;
  await worker.close();
  await queue.close();
  conn.disconnect();
  return N / s;
}

/** Plain BullMQ, idle worker: add one job, time until its processor starts; one at a time. */
export async function bullmqLatency(): Promise<number[]> {
  const conn = redis();
  const queue = new Queue('lat', { connection: conn, prefix: `${PREFIX}:peer` });
  let started: ((t: number) => void) | null = null;
  const worker = new Worker('lat', async () => { started?.(performance.now()); }, { connection: conn, prefix: `${PREFIX}:peer`, concurrency: 1 });
  await worker.waitUntilReady();
  const out: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const start = new Promise<number>((r) => { started = r; });
    const t0 = performance.now();
    await queue.add('lat', `l${i}`, { removeOnComplete: true });
    const t1 = await start;
    if (i >= 20) out.push(t1 - t0);
    await sleep(5);
  }
  await worker.close();
  await queue.close();
  conn.disconnect();
  return out;
}

/** Mediaflow's adapter: enqueue N jobs while one worker loop leases up to 16 at a time and completes them. */
async function adapterThroughput(): Promise<number> {
  const records = new MemoryLeaseRecords();
  const api = new BullmqQueue({ url: URL, prefix: `${PREFIX}:mf`, records });
  const worker = new BullmqQueue({ url: URL, prefix: `${PREFIX}:mf`, records });
  await Promise.all([api.ready(), worker.ready()]);
  const jobs = Array.from({ length: N }, () => records.create({ id: randomUUID(), processor: 'noop' }));
  let done = 0;
  const t0 = performance.now();
  const submit = (async () => {
    for (let i = 0; i < N; i += 500) await Promise.all(jobs.slice(i, i + 500).map((j) => api.enqueue(j)));
  })();
  while (done < N) {
    const got = await worker.lease({ workerId: 'w1', limits: { noop: CONCURRENCY }, max: CONCURRENCY, busy: 0, leaseMs: 30_000 });
    await Promise.all(got.map((l) => worker.complete(l.lease, null)));
    done += got.length;
    if (got.length === 0) await sleep(1);
  }
  await submit;
  const s = (performance.now() - t0) / 1000;
  await Promise.all([api.close(), worker.close()]);
  return N / s;
}

/**
 * Mediaflow's adapter, idle: enqueue one job, time until `lease` returns it. `lease` does not block,
 * so the worker polls; with a 1 ms poll this is the adapter's floor, not the worker's pace.
 */
async function adapterLatency(): Promise<number[]> {
  const records = new MemoryLeaseRecords();
  const api = new BullmqQueue({ url: URL, prefix: `${PREFIX}:mf`, records });
  const worker = new BullmqQueue({ url: URL, prefix: `${PREFIX}:mf`, records });
  await Promise.all([api.ready(), worker.ready()]);
  const out: number[] = [];
  for (let i = 0; i < SAMPLES + 20; i++) {
    const job = records.create({ id: randomUUID(), processor: 'lat' });
    const t0 = performance.now();
    await api.enqueue(job);
    let got;
    while ((got = await worker.lease({ workerId: 'w1', limits: { lat: 1 }, max: 1, busy: 0, leaseMs: 30_000 })).length === 0) await sleep(1);
    const t1 = performance.now();
    await worker.complete(got[0]!.lease, null);
    if (i >= 20) out.push(t1 - t0);
    await sleep(5);
  }
  await Promise.all([api.close(), worker.close()]);
  return out;
}

export async function cleanup(): Promise<void> {
  const r = redis();
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000);
    if (keys.length) await r.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  r.disconnect();
}

async function main() {
  const info = redis();
  const version = /redis_version:(\S+)/.exec(await info.info('server'))?.[1] ?? '?';
  info.disconnect();
  const lines: string[] = [];
  const say = (l: string) => { console.log(l); lines.push(l); };
  try {
    // Alternate the two, twice, and keep each side's better run: the machine is shared.
    const peerRate: number[] = [];
    const mfRate: number[] = [];
    for (let r = 0; r < 2; r++) {
      peerRate.push(await bullmqThroughput());
      mfRate.push(await adapterThroughput());
    }
    const peerLat = await bullmqLatency();
    const mfLat = await adapterLatency();
    const peer = Math.max(...peerRate);
    const mf = Math.max(...mfRate);
    say(`- plain BullMQ, ${N} no-op jobs added (500 in flight) while a Worker (concurrency ${CONCURRENCY}) runs them: ${Math.round(peer)} jobs/s`);
    say(`- Mediaflow's BullMQ adapter, ${N} jobs enqueued while one loop leases ${CONCURRENCY} at a time and completes them (lease records in memory): ${Math.round(mf)} jobs/s — ${(mf / peer).toFixed(2)}× BullMQ`);
    say(`- add→start when idle, plain BullMQ (${peerLat.length} jobs, one at a time): p50 ${fmt(pct(peerLat, 50))}, p99 ${fmt(pct(peerLat, 99))}`);
    say(`- enqueue→leased when idle, Mediaflow's adapter polling every 1 ms (${mfLat.length} jobs): p50 ${fmt(pct(mfLat, 50))}, p99 ${fmt(pct(mfLat, 99))} — p50 ${(pct(mfLat, 50) / pct(peerLat, 50)).toFixed(2)}× BullMQ`);
  } finally {
    await cleanup();
  }
  const load = os.loadavg()[0]!.toFixed(1);
  writeResultsSection('bullmq-peer', [
    '## bullmq-peer',
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, Redis ${version} on the same machine; load average at the end ${load}. Run: \`npx tsx bench/bullmq-peer.bench.ts\` (${new Date().toISOString().slice(0, 10)}).`,
    '',
    ...lines,
    '',
    'The adapter makes two BullMQ script calls per job where a BullMQ Worker makes one: it takes the job',
    "(`getNextJob`) and, once PostgreSQL's claim grants the lease, finishes it at once, whereas a Worker",
    'finishes a job and fetches the next in one call. Its lease loop also takes a batch at a time instead',
    "of keeping 16 jobs in flight. In distributed mode PostgreSQL's claim comes on top of these figures.",
    '',
  ].join('\n'));
}

// Run as a script; imported (by the distributed-mode benchmark) it only lends its peer measurements.
if (import.meta.url === `file://${process.argv[1]}`) {
  await main();
  process.exit(0);
}
