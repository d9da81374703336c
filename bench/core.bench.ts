/**
 * Core benchmarks, against a real `mediaflow serve` process tree on a temp data folder:
 *
 * 1. The queue: submit→start latency when idle, end-to-end jobs/s of the no-op processor, with the
 *    worker process at the default priority and, as the peer, at the API's.
 * 2. The API while models run: GET /v1/jobs/:id (32 connections, autocannon, 10 s) while a
 *    separation job (htdemucs on ONNX Runtime) and OCR jobs (two Tesseract workers) keep the worker
 *    process busy, once per configuration, in interleaved rounds so that load elsewhere on the
 *    machine hits each alike:
 *    - "equal priority": `workers.nice` 0 and `threads` 0 (all cores), the settings before worker
 *      priorities existed — the peer;
 *    - "nice 10": the default;
 *    - "nice 10, threads cores − 1": also one core fewer for each ML engine;
 *    - "no jobs": the API alone, the ceiling on this machine.
 *    Next to the API's figures: how far the separation job got and how many OCR jobs ended during
 *    the measurement, the price the models pay.
 *
 *   npx tsx bench/core.bench.ts [--quick] [--rounds N]
 *
 * Prints figures and writes them into bench/RESULTS.md under "## core".
 */
import { writeResultsSection } from './results-file.js';
import { reportFigure } from './figures.js';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import autocannon from 'autocannon';
import { spawnServer, tempDir, json } from '../test/helpers/server.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const ROUNDS = Number(argv[argv.indexOf('--rounds') + 1] || 0) || (QUICK ? 1 : 3);
const LOAD_SECONDS = QUICK ? 5 : 10;
const QUEUE_JOBS = QUICK ? 1000 : 5000;
const load0 = os.loadavg()[0];
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

interface QueueFigures { p50: number; p99: number; jobsPerS: number; submitsPerS: number }

/** The queue on one server: submit→start latency when idle, then end-to-end no-op throughput. */
async function queue(env: Record<string, string>): Promise<QueueFigures> {
  const data = tempDir('mediaflow-bench-');
  const s = await spawnServer(data, { ...ENV, ...env });
  const db = new Database(path.join(data, 'mediaflow.db'), { readonly: true });
  try {
    // --- submit→start latency, idle: one job at a time.
    for (let i = 0; i < 20; i++) await post(s.url, { processor: 'noop', params: { value: `warm${i}` }, input: URL_IN });
    const latencies: number[] = [];
    for (let i = 0; i < (QUICK ? 100 : 300); i++) {
      const job = await post(s.url, { processor: 'noop', params: { value: `lat${i}` }, input: URL_IN });
      let row: { created_at: number; started_at: number | null };
      do {
        await new Promise((r) => setTimeout(r, 2));
        row = db.prepare('SELECT created_at, started_at FROM jobs WHERE id = ?').get(job.id) as typeof row;
      } while (row.started_at === null);
      latencies.push(row.started_at - row.created_at);
      await new Promise((r) => setTimeout(r, 10));
    }

    // --- end-to-end throughput: N no-op jobs submitted over HTTP by 32 concurrent clients.
    const before = (db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'`).get() as { n: number }).n;
    const t0 = performance.now();
    // autocannon as the client: a fetch loop in Node would spend more CPU than the server it measures.
    await autocannon({
      url: `${s.url}/v1/jobs`, method: 'POST', connections: 32, amount: QUEUE_JOBS,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ processor: 'noop', params: { value: 'throughput' }, input: URL_IN }),
    });
    const tSubmitted = performance.now();
    for (;;) {
      const n = (db.prepare(`SELECT count(*) AS n FROM jobs WHERE status = 'succeeded'`).get() as { n: number }).n - before;
      if (n >= QUEUE_JOBS) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const t1 = performance.now();
    return { p50: pct(latencies, 50), p99: pct(latencies, 99), jobsPerS: QUEUE_JOBS / ((t1 - t0) / 1000), submitsPerS: QUEUE_JOBS / ((tSubmitted - t0) / 1000) };
  } finally {
    db.close();
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

async function main() {
  const lines: string[] = [];
  const say = (l: string) => { console.log(l); lines.push(l); };
  // The queue with the workers at the default priority and, as the peer, at the API's.
  const q = await queue({});
  const q0 = await queue({ MEDIAFLOW_WORKERS_NICE: '0' });
  say(`Queue (${QUEUE_JOBS} no-op jobs submitted over HTTP by 32 connections with autocannon and run by 1 worker process; latency: ${QUICK ? 100 : 300} jobs one at a time, ms resolution):`);
  say('');
  say('| workers | submit→start p50 | submit→start p99 | end to end jobs/s | submits alone /s |');
  say('|---|---:|---:|---:|---:|');
  for (const [label, f] of [['nice 10 (default)', q], ['equal priority (nice 0)', q0]] as const) {
    say(`| ${label} | ${f.p50} ms | ${f.p99} ms | ${Math.round(f.jobsPerS)} | ${Math.round(f.submitsPerS)} |`);
  }
  say('');
  say(`The price of the lower priority is paid by work that is nothing but queue traffic: with 32 connections flooding the API with submits, the no-op jobs ran at ${Math.round(q.jobsPerS)} jobs/s against ${Math.round(q0.jobsPerS)} at equal priority (${(q.jobsPerS / q0.jobsPerS).toFixed(2)}×), `
    + 'since the worker then gets the CPU only after the API (and holds SQLite\'s write lock longer when it is descheduled). `workers.nice: 0` restores the former behaviour for such workloads.');
  reportFigure({ name: 'queue, no-op jobs end to end (nice 10)', value: q.jobsPerS, unit: 'jobs/s', peer: { name: 'equal priority', value: q0.jobsPerS }, better: 'higher', goal: '≥ 1,000 jobs/s' });
  reportFigure({ name: 'queue, submit→start p50 when idle (nice 10)', value: q.p50, unit: 'ms', peer: { name: 'equal priority', value: q0.p50 }, better: 'lower', goal: '≤ 5 ms' });
  await apiUnderLoad(say);
  writeSection('core', [
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average ${load0.toFixed(1)} at the start, ${os.loadavg()[0].toFixed(1)} at the end. Run: \`npx tsx bench/core.bench.ts${QUICK ? ' --quick' : ''}\` (${new Date().toISOString().slice(0, 10)}).`,
    '',
    ...lines,
    '',
    'Goals: ≥ 1,000 jobs/s and p50 ≤ 5 ms for the queue; ≥ 5,000 req/s and p99 ≤ 20 ms for the API while models run.',
  ]);
}
interface Variant { label: string; env: Record<string, string>; models: boolean }
interface Sample { rps: number; p50: number; p99: number; p999: number; non2xx: number; separated: number; workerCores: number; ocrDone: number; busy: boolean }

/** A text page of 40 lines for OCR: each job takes a few seconds of Tesseract. */
function makePage(file: string): void {
  const lines = Array.from({ length: 40 }, (_, i) => `text 60,${100 + i * 70} 'Line ${i}: The quick brown fox jumps over the lazy dog, again and again.'`);
  execFileSync('convert', ['-size', '2400x3200', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '30', ...lines.flatMap((l) => ['-draw', l]), file]);
}

/** A 16-bit stereo WAV of noise and a tone, long enough that the separation job outlasts every measurement. */
function makeSong(seconds: number): Buffer {
  const rate = 44100;
  const frames = seconds * rate;
  const wav = Buffer.alloc(44 + frames * 4);
  wav.write('RIFF', 0); wav.writeUInt32LE(36 + frames * 4, 4); wav.write('WAVEfmt ', 8);
  wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(2, 22); wav.writeUInt32LE(rate, 24);
  wav.writeUInt32LE(rate * 4, 28); wav.writeUInt16LE(4, 32); wav.writeUInt16LE(16, 34); wav.write('data', 36); wav.writeUInt32LE(frames * 4, 40);
  let seed = 1;
  const noise = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 31 - 1; };
  for (let i = 0; i < frames; i++) {
    const tone = 0.3 * Math.sin((2 * Math.PI * 220 * i) / rate);
    wav.writeInt16LE(Math.round(32767 * (tone + 0.2 * noise())), 44 + i * 4);
    wav.writeInt16LE(Math.round(32767 * (tone + 0.2 * noise())), 46 + i * 4);
  }
  return wav;
}

/** The worker process of a `serve` (`… worker --child`). */
function workerPid(serverPid: number): number | undefined {
  for (const tid of readdirSync(`/proc/${serverPid}/task`)) {
    for (const child of readFileSync(`/proc/${serverPid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)) {
      if (readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').includes('worker --child')) return Number(child);
    }
  }
  return undefined;
}

/** CPU seconds (user + system, all threads) a process has used. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ
}

async function jobState(url: string, id: string) {
  return json(await fetch(`${url}/v1/jobs/${id}`));
}

/** One server with one configuration: start the models, load the API, read what the models did meanwhile. */
async function measure(v: Variant, page: Buffer, song: Buffer): Promise<Sample> {
  const data = tempDir('mediaflow-bench-');
  const s = await spawnServer(data, { ...ENV, ...v.env });
  try {
    const ocrIds: string[] = [];
    let sepId: string | undefined;
    if (v.models) {
      const form = new FormData();
      form.set('processor', 'separate');
      form.set('file', new Blob([song]), 'song.wav');
      sepId = (await json(await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: form }))).id;
      for (let i = 0; i < 12; i++) {
        const f = new FormData();
        f.set('processor', 'ocr');
        f.set('file', new Blob([page]), `page${i}.png`);
        ocrIds.push((await json(await fetch(`${s.url}/v1/jobs`, { method: 'POST', body: f }))).id);
      }
      // Wait until the separation model is loaded and running windows, and OCR is under way.
      const t0 = Date.now();
      for (;;) {
        const sep = await jobState(s.url, sepId!);
        const ocr = await jobState(s.url, ocrIds[0]!);
        if (sep.status === 'failed' || ocr.status === 'failed' || sep.attempts > 1) throw new Error(`a model job failed: ${JSON.stringify(sep.error ?? ocr.error ?? sep)}`);
        if (sep.status === 'running' && sep.progress > 0.01 && ocr.status !== 'queued') break;
        if (Date.now() - t0 > 180_000) throw new Error(`the model jobs did not start within 3 minutes: ${JSON.stringify({ sep, ocr })}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const target = await post(s.url, { processor: 'noop', params: { value: 'target' }, input: URL_IN });
    const sep0 = sepId ? (await jobState(s.url, sepId)).progress as number : 0;
    const worker = workerPid(s.proc.pid!);
    const cpu0 = worker ? cpuSeconds(worker) : 0;
    const t0 = performance.now();
    const r = await autocannon({ url: `${s.url}/v1/jobs/${target.id}`, connections: 32, duration: LOAD_SECONDS });
    const workerCores = worker ? (cpuSeconds(worker) - cpu0) / ((performance.now() - t0) / 1000) : 0;
    let separated = 0;
    let ocrDone = 0;
    let busy = true;
    if (sepId) {
      const sep = await jobState(s.url, sepId);
      separated = (sep.progress as number) - sep0;
      const states = await Promise.all(ocrIds.map((id) => jobState(s.url, id)));
      ocrDone = states.filter((j) => j.status === 'succeeded').length;
      // Both kinds of model must still have been at work at the end, or the figure is not "while models run".
      busy = sep.status === 'running' && states.some((j) => j.status === 'running');
    }
    return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, p999: r.latency.p99_9 ?? r.latency.p99, non2xx: r.non2xx, separated, workerCores, ocrDone, busy };
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
}

async function apiUnderLoad(say: (l: string) => void) {
  const cores = os.availableParallelism();
  const variants: Variant[] = [
    { label: 'equal priority (nice 0, threads: all cores)', env: { MEDIAFLOW_WORKERS_NICE: '0' }, models: true },
    { label: 'nice 10 (default)', env: {}, models: true },
    { label: `nice 10, threads ${Math.max(1, cores - 1)} (cores − 1)`, env: { MEDIAFLOW_THREADS: String(Math.max(1, cores - 1)) }, models: true },
    { label: 'no jobs (the API alone)', env: {}, models: false },
  ];
  const page = path.join(os.tmpdir(), `bench-ocr-${process.pid}.png`);
  makePage(page);
  const pageBytes = readFileSync(page);
  const songBytes = makeSong(240);
  rmSync(page, { force: true });
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.label, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const v of variants) {
      const m = await measure(v, pageBytes, songBytes);
      samples.get(v.label)!.push(m);
      console.log(`  round ${round + 1}, ${v.label}: ${Math.round(m.rps)} req/s, p50 ${m.p50} ms, p99 ${m.p99} ms${v.models ? `, worker process ${m.workerCores.toFixed(2)} cores, separation +${(m.separated * 100).toFixed(1)} %, ${m.ocrDone} OCR pages done${m.busy ? '' : ' (models NOT busy to the end)'}` : ''}`);
    }
  }
  const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2; };
  const agg = (label: string) => {
    const xs = samples.get(label)!;
    return { rps: med(xs.map((x) => x.rps)), p50: med(xs.map((x) => x.p50)), p99: med(xs.map((x) => x.p99)), p999: med(xs.map((x) => x.p999)), non2xx: xs.reduce((a, x) => a + x.non2xx, 0), separated: med(xs.map((x) => x.separated)), workerCores: med(xs.map((x) => x.workerCores)), ocrDone: med(xs.map((x) => x.ocrDone)), busy: xs.every((x) => x.busy) };
  };
  say('');
  say(`GET /v1/jobs/:id, 32 connections (autocannon, in this process) for ${LOAD_SECONDS} s while a separation job (240 s song, htdemucs) and OCR jobs (12 pages of 40 lines, 2 at a time) run in the worker process; median of ${ROUNDS} interleaved round${ROUNDS > 1 ? 's' : ''}, a fresh server each time:`);
  say('');
  say(`| workers | req/s | p50 ms | p99 ms | p99.9 ms | non-2xx | CPU the worker process got (cores) | separation progress in ${LOAD_SECONDS} s | OCR pages done |`);
  say('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const v of variants) {
    const a = agg(v.label);
    say(`| ${v.label} | ${Math.round(a.rps)} | ${a.p50} | ${a.p99} | ${a.p999} | ${a.non2xx} | ${v.models ? a.workerCores.toFixed(2) : '—'} | ${v.models ? `${(a.separated * 100).toFixed(1)} %` : '—'} | ${v.models ? a.ocrDone : '—'}${v.models && !a.busy ? ' (models not busy to the end in a round)' : ''} |`);
  }
  const before = agg(variants[0]!.label);
  const after = agg(variants[1]!.label);
  const threads = agg(variants[2]!.label);
  reportFigure({ name: 'GET /v1/jobs/:id p99 while models run (nice 10)', value: after.p99, unit: 'ms', peer: { name: 'equal priority', value: before.p99 }, better: 'lower', goal: '≤ 20 ms' });
  reportFigure({ name: 'GET /v1/jobs/:id req/s while models run (nice 10)', value: after.rps, unit: 'req/s', peer: { name: 'equal priority', value: before.rps }, better: 'higher', goal: '≥ 5,000 req/s' });
  reportFigure({ name: 'CPU the worker process got while the API is loaded (nice 10)', value: after.workerCores, unit: 'cores', peer: { name: 'equal priority', value: before.workerCores }, better: 'higher' });
  reportFigure({ name: `GET /v1/jobs/:id p99 while models run (nice 10, threads cores − 1)`, value: threads.p99, unit: 'ms', peer: { name: 'nice 10, all cores', value: after.p99 }, better: 'lower', goal: '≤ 20 ms' });
  const alone = agg(variants[3]!.label);
  const x = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  say('');
  say(`What changed the figure: running the worker process at nice 10 took the API from ${Math.round(before.rps)} to ${Math.round(after.rps)} req/s (${x(after.rps, before.rps)}) `
    + `and its p99 from ${before.p99} to ${after.p99} ms (${x(before.p99, after.p99)} lower), ${after.rps >= 0.85 * alone.rps ? 'close to' : 'short of'} what the API does with no jobs at all on this machine `
    + `(${Math.round(alone.rps)} req/s, p99 ${alone.p99} ms). The models keep the CPU the API leaves: the worker process got ${after.workerCores.toFixed(2)} cores during the load `
    + `against ${before.workerCores.toFixed(2)} at equal priority. One thread fewer for each ML engine on top of nice 10 gave ${Math.round(threads.rps)} req/s, p99 ${threads.p99} ms `
    + `(${x(threads.rps, after.rps)} the req/s of nice 10 alone)`
    + (threads.rps >= 1.1 * after.rps && threads.p99 <= 0.8 * after.p99
      ? ': here a thread fewer helped as well; set `threads` to cores − 1 on such a machine.'
      : ', so `threads` keeps its default (all cores): priority, not thread count, is what keeps the API responsive, and an idle API then costs the models nothing.'));
  say('');
  say('The absolute figures depend on the machine and on what else runs there: the "no jobs" row is this machine\'s ceiling for the API with the load generator on the same cores.');
}

function writeSection(name: string, body: string[]) {
  writeResultsSection(name, `## ${name}\n\n${body.join('\n')}\n`);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
