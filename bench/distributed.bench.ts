/**
 * Distributed mode, end to end: an API node and two worker processes on PostgreSQL, BullMQ (Redis)
 * and S3, each a real `mediaflow` process — no-op jobs/s from HTTP submit to `succeeded`, and
 * submit→start latency when idle; side by side, in the same run, plain BullMQ add→process on the
 * same Redis (bench/bullmq-peer.bench.ts).
 *
 *   npx tsx bench/distributed.bench.ts     (needs PostgreSQL, Redis, and Swift for S3: see test/helpers/cluster.ts)
 *
 * Prints figures and writes them into bench/RESULTS.md under "## distributed".
 */
import os from 'node:os';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { ClusterUnavailable, clusterUnavailable, startCluster } from '../test/helpers/cluster.js';
import { json } from '../test/helpers/server.js';
import { bullmqLatency, bullmqThroughput, cleanup } from './bullmq-peer.bench.js';
import { writeResultsSection } from './results-file.js';

const N = Number(process.env.BENCH_JOBS ?? 3000);
const SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const POLL_MS = process.env.BENCH_POLL_MS ?? '500';
const URL_IN = { url: 'http://127.0.0.1/' };
// Workers are woken by a Redis signal when work is enqueued, and poll BullMQ every POLL_MS besides
// (the default, 500 ms). Info level: a worker's start line is what the cluster helper waits for;
// nothing is logged per job at that level.
const NODE_ENV = { MEDIAFLOW_LOG_LEVEL: 'info', MEDIAFLOW_WORKERS_POLL_MS: POLL_MS };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function post(url: string, body: unknown) {
  const res = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return json(res);
}

async function main() {
  const why = await clusterUnavailable();
  if (why) {
    console.log(`distributed benchmark skipped: ${why}`);
    return;
  }
  const cluster = await startCluster().catch((err) => {
    if (err instanceof ClusterUnavailable) return null;
    throw err;
  });
  if (!cluster) {
    console.log('distributed benchmark skipped: the S3 server (Swift) cannot be installed here');
    return;
  }
  const sql = postgres(cluster.postgresUrl, { max: 2, fetch_types: false, onnotice: () => {} });
  const lines: string[] = [];
  const say = (l: string) => { console.log(l); lines.push(l); };
  let commitMs = NaN;
  try {
    const api = await cluster.api(NODE_ENV);
    await Promise.all([cluster.worker(NODE_ENV, ['--only', 'noop']), cluster.worker(NODE_ENV, ['--only', 'noop'])]);

    // What one durable commit costs here (a logged table: a temporary one skips the WAL flush).
    await sql`CREATE TABLE bench_commit (n int)`;
    const commits: number[] = [];
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await sql`INSERT INTO bench_commit VALUES (${i})`;
      commits.push(performance.now() - t);
    }
    commitMs = pct(commits, 50);

    // --- submit→start latency, idle: one job at a time; both times from PostgreSQL's clock.
    for (let i = 0; i < 20; i++) await post(api.url, { processor: 'noop', params: { value: `warm${i}` }, input: URL_IN });
    const latencies: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const job = await post(api.url, { processor: 'noop', params: { value: `lat${i}` }, input: URL_IN });
      let ms: number | null = null;
      do {
        await sleep(2);
        const [row] = await sql<Array<{ ms: number | null }>>`SELECT extract(epoch FROM started_at - created_at) * 1000 AS ms FROM jobs WHERE id = ${job.id}`;
        ms = row?.ms === null || row?.ms === undefined ? null : Number(row.ms);
      } while (ms === null);
      latencies.push(ms);
      await sleep(10);
    }

    // --- throughput: N no-op jobs submitted over HTTP by 32 connections, until all succeeded.
    const count = async () => Number((await sql<Array<{ n: string }>>`SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'`)[0]!.n);
    const before = await count();
    // What the cluster's database sessions wait on meanwhile, sampled: the evidence for what limits the figure.
    const waits = new Map<string, number>();
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const rows = await sql<Array<{ w: string }>>`SELECT coalesce(wait_event_type || ':' || wait_event, 'running on CPU') AS w FROM pg_stat_activity
          WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'`;
        for (const { w } of rows) waits.set(w, (waits.get(w) ?? 0) + 1);
        await sleep(50);
      }
    })();
    const t0 = performance.now();
    const r = await autocannon({
      url: `${api.url}/v1/jobs`, method: 'POST', connections: 32, amount: N,
      headers: { 'content-type': 'application/json' },
      // Each request a job of its own (identical submits would be one job).
      requests: [{ setupRequest: (req: autocannon.Request) => ({ ...req, body: JSON.stringify({ processor: 'noop', params: { value: `t${Math.random()}` }, input: URL_IN }) }) }],
    });
    const tSubmitted = performance.now();
    while ((await count()) - before < N) await sleep(20);
    const t1 = performance.now();
    sampling = false;
    await sampler;
    const samples = [...waits.values()].reduce((a, b) => a + b, 0);
    const waitLine = [...waits.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([w, n]) => `${w} ${Math.round((100 * n) / samples)}%`).join(', ');
    const mfRate = N / ((t1 - t0) / 1000);

    // --- the peer, same Redis, same run.
    const peerRate = await bullmqThroughput();
    const peerLat = await bullmqLatency();

    say(`- PostgreSQL commit (one INSERT into a logged table, synchronous commit): p50 ${fmt(commitMs)}; three such commits a job, taken one at a time, would allow about ${Math.round(1000 / (3 * commitMs))} jobs/s`);
    say(`- end to end, ${N} no-op jobs submitted over HTTP by 32 connections (autocannon, ${r.non2xx} non-2xx) and run by 2 worker processes (\`--only noop\`, woken by the enqueue signal, polling every ${POLL_MS} ms besides): **${Math.round(mfRate)} jobs/s** (submits alone: ${Math.round(N / ((tSubmitted - t0) / 1000))}/s)`);
    say(`- meanwhile, active PostgreSQL sessions of the cluster were waiting on (sampled every 50 ms): ${waitLine}`);
    say(`- plain BullMQ on the same Redis, add→processed, Worker concurrency 16, no HTTP and no database: ${Math.round(peerRate)} jobs/s — Mediaflow distributed is ${(mfRate / peerRate).toFixed(2)}× plain BullMQ`);
    say(`- submit→start when idle (${latencies.length} jobs, one at a time; created_at→started_at in PostgreSQL): p50 ${fmt(pct(latencies, 50))}, p99 ${fmt(pct(latencies, 99))}`);
    say(`- plain BullMQ add→start when idle (${peerLat.length} jobs): p50 ${fmt(pct(peerLat, 50))}, p99 ${fmt(pct(peerLat, 99))} — Mediaflow's p50 is ${(pct(latencies, 50) / pct(peerLat, 50)).toFixed(1)}× BullMQ's`);
  } finally {
    await sql.end({ timeout: 1 });
    await cluster.destroy();
    await cleanup();
  }
  const load = os.loadavg()[0]!.toFixed(1);
  writeResultsSection('distributed', [
    '## distributed',
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ') ?? 'CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; PostgreSQL, Redis and the S3 server (Swift) on the same machine; load average at the end ${load}. Run: \`npx tsx bench/distributed.bench.ts\` (${new Date().toISOString().slice(0, 10)}).`,
    '',
    ...lines,
    '',
    ...ANALYSIS,
    '',
  ].join('\n'));
}

/** What limits the figures (kept with them in RESULTS.md). */
const ANALYSIS = [
  "Where a job's time goes. Each job is a create (`queued`), a claim (`running`) and an ending",
  '(`succeeded`) in PostgreSQL, plus four Redis commands (add, the work signal, take, finish). All',
  'three are group-committed: submits arriving while a create transaction is in flight go together',
  'in the next one (with the same dedup and Idempotency-Key outcomes as one after another), a',
  'worker claims every job it took from BullMQ in one transaction, and completions are batched',
  'the same way. Event positions are handed out at commit by a deferred trigger (migration 005),',
  'so the lock that keeps them in commit order is held only from numbering to the durable commit,',
  "server-side, never across a client round trip. Before these changes the same run gave 199",
  'jobs/s with 78 % of the sampled sessions waiting on that lock, and four jobs of every 3,000 sat',
  'queued for about ten seconds (a claim refused over the limit dropped their BullMQ entries, and',
  'only the reconciler brought them back; refused jobs now go back to BullMQ). The API also',
  'looked up every ended job for the run-time histogram of /metrics, one query each; it now reads',
  'them in batches (two thirds of its queries under this load).',
  '',
  'What limits the figure now is the API node: end to end runs at the rate the one API process',
  'takes submits. A CPU profile of it during the run spends about a fifth of its time in socket',
  'writes to PostgreSQL and Redis, each a wake-up of another process on the same two cores that',
  'also run both workers, PostgreSQL, Redis and the load generator. More API nodes add submit',
  'capacity (the design is for several); on this machine they would share the same two cores.',
  'Plain BullMQ does one Redis script per step and keeps nothing durable. Commits stay synchronous',
  'on purpose: an acknowledged job, and an event a reader has seen, must survive a crash of the',
  'database server.',
  '',
  "Idle latency: a worker is woken by a Redis signal the moment a job is enqueued (any API node's",
  'submit, a retry, a released chain step), so a job starts after the signal, the BullMQ take and',
  "the claim's transaction; the poll (500 ms by default) only backs the signal up.",
];

await main();
process.exit(0);
