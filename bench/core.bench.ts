/**
 * Core benchmarks: the queue (end-to-end jobs/s of the no-op processor, submit→start latency when
 * idle) and the API (GET /v1/jobs/:id req/s and p99 while an OCR job runs), against a real
 * `mediaflow serve` process tree on a temp data folder.
 *
 *   npx tsx bench/core.bench.ts
 *
 * Prints figures and writes them into bench/RESULTS.md under "## core".
 */
import { writeResultsSection } from './results-file.js';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import { spawnServer, tempDir, json } from '../test/helpers/server.js';

const ENV = { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1', MEDIAFLOW_LOG_LEVEL: 'silent' };
const URL_IN = { url: 'http://127.0.0.1/' };

function pct(values: number[], p: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

async function post(url: string, body: unknown) {
  const res = await fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return json(res);
}

async function main() {
  const data = tempDir('mediaflow-bench-');
  const s = await spawnServer(data, ENV);
  const db = new Database(path.join(data, 'mediaflow.db'), { readonly: true });
  const lines: string[] = [];
  const say = (l: string) => { console.log(l); lines.push(l); };
  try {
    // --- submit→start latency, idle: one job at a time.
    for (let i = 0; i < 20; i++) await post(s.url, { processor: 'noop', params: { value: `warm${i}` }, input: URL_IN });
    const latencies: number[] = [];
    for (let i = 0; i < 300; i++) {
      const job = await post(s.url, { processor: 'noop', params: { value: `lat${i}` }, input: URL_IN });
      let row: { created_at: number; started_at: number | null };
      do {
        await new Promise((r) => setTimeout(r, 2));
        row = db.prepare('SELECT created_at, started_at FROM jobs WHERE id = ?').get(job.id) as typeof row;
      } while (row.started_at === null);
      latencies.push(row.started_at - row.created_at);
      await new Promise((r) => setTimeout(r, 10));
    }
    say(`- submit→start latency when idle (${latencies.length} jobs, ms resolution): p50 ${pct(latencies, 50)} ms, p99 ${pct(latencies, 99)} ms`);

    // --- end-to-end throughput: N no-op jobs submitted over HTTP by 32 concurrent clients.
    const N = 5000;
    const before = (db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'`).get() as { n: number }).n;
    const t0 = performance.now();
    // autocannon as the client: a fetch loop in Node would spend more CPU than the server it measures.
    await autocannon({
      url: `${s.url}/v1/jobs`, method: 'POST', connections: 32, amount: N,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ processor: 'noop', params: { value: 'throughput' }, input: URL_IN }),
    });
    const tSubmitted = performance.now();
    for (;;) {
      const n = (db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'`).get() as { n: number }).n - before;
      if (n >= N) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const t1 = performance.now();
    say(`- end to end, ${N} no-op jobs submitted over HTTP by 32 connections (autocannon) and run by 1 worker process: ${Math.round(N / ((t1 - t0) / 1000))} jobs/s (submits alone: ${Math.round(N / ((tSubmitted - t0) / 1000))}/s)`);

    // --- API read load while an OCR job runs.
    const page = path.join(os.tmpdir(), `bench-ocr-${process.pid}.png`);
    execFileSync('convert', ['-size', '2400x3200', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '28', '-draw',
      `text 60,120 '${'The quick brown fox jumps over the lazy dog. '.repeat(2)}'`, page]);
    const form = new FormData();
    form.set('processor', 'ocr');
    form.set('file', new Blob([readFileSync(page)]), 'page.png');
    const ocrJob = await json(await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: form }));
    const target = await post(s.url, { processor: 'noop', params: { value: 'target' }, input: URL_IN });
    const r = await autocannon({ url: `${s.url}/v1/jobs/${target.id}`, connections: 32, duration: 10 });
    const ocrState = await json(await fetch(`${s.url}/v1/jobs/${ocrJob.id}`));
    say(`- GET /v1/jobs/:id, 32 connections for 10 s while an OCR job runs (${ocrState.status} at the end): ${Math.round(r.requests.average)} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, ${r.non2xx} non-2xx`);
    rmSync(page, { force: true });
  } finally {
    db.close();
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
  writeSection('core', [
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}. Run: \`npx tsx bench/core.bench.ts\` (${new Date().toISOString().slice(0, 10)}).`,
    '',
    ...lines,
    '',
    'Goals: ≥ 1,000 jobs/s and p50 ≤ 5 ms for the queue; ≥ 5,000 req/s and p99 ≤ 20 ms for the API.',
  ]);
}

function writeSection(name: string, body: string[]) {
  writeResultsSection(name, `## ${name}\n\n${body.join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
