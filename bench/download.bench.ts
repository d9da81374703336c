/**
 * Download benchmark.
 *
 * 1. Throughput on loopback: `downloadToFile` (SSRF checks, pinned connection, SHA-256 on the way,
 *    resumable writes) against `curl -o` on the same 2 GiB body. The body is streamed by a server in
 *    a child process from one random 1 MiB buffer, never stored; the downloaded files are deleted
 *    after each round. Also `curl` followed by `sha256sum`, since Mediaflow hashes while it downloads.
 * 2. Memory: the peak RSS of this process while downloading 256 MiB and 2 GiB (sampled every 20 ms):
 *    flat means the body is streamed, not held.
 * 3. `record-stream`: CPU time per minute of recorded stream, for a 320x240 H.264/AAC live HLS
 *    stream made by ffmpeg in real time: the recording ffmpeg and its ffprobe calls (children, from
 *    /proc/self/stat) and this Node process (guard proxy, playlist fetch, the test's HTTP server).
 *
 * CPU time is reported next to wall time: loopback throughput on a small shared machine depends on
 * what else runs there, CPU seconds per GiB do not.
 *
 * Run: npx tsx bench/download.bench.ts [--gib 2] [--rounds 3] [--record-seconds 30] [--skip-record]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultConfig } from '../src/config/load-config.js';
import { downloadToFile } from '../src/net/index.js';
import { recordStream } from '../src/processors/record-stream/record.js';
import { startLiveHls } from '../test/helpers/hls-media.js';
import { startTestServer } from '../test/helpers/http-server.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const arg = (name: string, dflt: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
const GIB = arg('gib', 2);
const ROUNDS = arg('rounds', 3);
const RECORD_SECONDS = arg('record-seconds', 30);
const MiB = 1048576;

const SERVER = `
const http = require('node:http');
const chunk = require('node:crypto').randomBytes(1 << 20);
http.createServer((req, res) => {
  const size = Number(new URL(req.url, 'http://x').searchParams.get('size'));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  let left = size;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', pump); return; }
    }
    res.end();
  };
  pump();
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;

async function startBodyServer(): Promise<{ origin: string; stop(): void }> {
  const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { origin: `http://127.0.0.1:${port}`, stop: () => child.kill() };
}

function sampleRss(): { stop(): number } {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  return { stop() { clearInterval(t); return Math.max(peak, process.memoryUsage().rss); } };
}

/** CPU seconds (utime + stime) from a /proc stat file: the process's own, or its reaped children's. */
async function procCpu(file: string, children = false): Promise<number> {
  const stat = await readFile(file, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = 100; // USER_HZ on Linux
  return children ? (Number(f[13]) + Number(f[14])) / hz : (Number(f[11]) + Number(f[12])) / hz;
}
/** CPU of reaped children (curl, sha256sum, ffmpeg, ffprobe). */
const childrenCpu = () => procCpu('/proc/self/stat', true);
/** CPU of this process's main thread only (the event loop; the hash worker is another thread). */
const mainThreadCpu = () => procCpu(`/proc/self/task/${process.pid}/stat`);
const processCpu = () => { const c = process.cpuUsage(); return (c.user + c.system) / 1e6; };

interface Row { ms: number[]; cpu: number[]; mainCpu: number[] }

async function throughput(dir: string): Promise<void> {
  const size = Math.round(GIB * 1024 * MiB);
  const server = await startBodyServer();
  const url = `${server.origin}/body?size=${size}`;
  const config = defaultConfig({ network: { allowPrivate: true }, limits: { maxDownloadMb: GIB * 1024 + 1 } });
  const dest = path.join(dir, 'body.bin');
  const rows: Record<string, Row> = {};
  const row = (k: string) => (rows[k] ??= { ms: [], cpu: [], mainCpu: [] });
  const rss: Record<string, number> = {};
  const load0 = os.loadavg()[0];
  const MF = 'mediaflow downloadToFile (sha256 included)';
  try {
    const base = process.memoryUsage().rss;
    // Warm-up (page cache, server JIT, worker start-up code), untimed.
    await downloadToFile(`${server.origin}/body?size=${256 * MiB}`, dest, { config });
    await rm(dest, { force: true });
    for (const [label, n] of [['256 MiB', 256 * MiB], [`${GIB} GiB`, size]] as const) {
      const s = sampleRss();
      await downloadToFile(`${server.origin}/body?size=${n}`, dest, { config });
      rss[label] = s.stop();
      await rm(dest, { force: true });
    }
    rss.baseline = base;
    // Interleaved rounds, so that a burst of load elsewhere on the machine hits every client alike.
    for (let r = 0; r < ROUNDS; r++) {
      let k0 = await childrenCpu();
      let t = performance.now();
      await run('curl', ['-s', '-o', dest, url]);
      const curlMs = performance.now() - t;
      const curlCpu = (await childrenCpu()) - k0;
      row('curl -o').ms.push(curlMs);
      row('curl -o').cpu.push(curlCpu);
      k0 = await childrenCpu();
      t = performance.now();
      await run('sha256sum', [dest]);
      row('curl -o, then sha256sum').ms.push(curlMs + performance.now() - t);
      row('curl -o, then sha256sum').cpu.push(curlCpu + (await childrenCpu()) - k0);
      await rm(dest, { force: true });

      const p0 = processCpu();
      const m0 = await mainThreadCpu();
      t = performance.now();
      const got = await downloadToFile(url, dest, { config });
      row(MF).ms.push(performance.now() - t);
      row(MF).cpu.push(processCpu() - p0);
      row(MF).mainCpu.push((await mainThreadCpu()) - m0);
      if (got.size !== size) throw new Error(`short download: ${got.size}`);
      await rm(dest, { force: true });
    }
  } finally {
    server.stop();
    await rm(dest, { force: true });
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const mbps = (ms: number) => (size / MiB) / (ms / 1000);
  const curlBest = mbps(Math.min(...rows['curl -o'].ms));
  const curlMedian = mbps(median(rows['curl -o'].ms));
  console.log(`\n## throughput, ${GIB} GiB over loopback, ${ROUNDS} interleaved rounds (load average ${load0.toFixed(1)} → ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores)`);
  console.log('| client | best MiB/s | median MiB/s | best vs curl -o | median vs curl -o | CPU s per GiB (event loop alone) |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const [k, v] of Object.entries(rows)) {
    const best = mbps(Math.min(...v.ms));
    const med = mbps(median(v.ms));
    const main = v.mainCpu.length ? ` (${(median(v.mainCpu) / GIB).toFixed(2)})` : '';
    console.log(`| ${k} | ${best.toFixed(0)} | ${med.toFixed(0)} | ${(best / curlBest).toFixed(2)}× | ${(med / curlMedian).toFixed(2)}× | ${(median(v.cpu) / GIB).toFixed(2)}${main} |`);
  }
  console.log(`\n## peak RSS of the downloading process`);
  console.log('| download | peak RSS (MiB) |');
  console.log('|---|---:|');
  console.log(`| before (baseline) | ${(rss.baseline / MiB).toFixed(0)} |`);
  for (const k of ['256 MiB', `${GIB} GiB`]) console.log(`| ${k} | ${(rss[k] / MiB).toFixed(0)} |`);
}

async function recordCpu(dir: string): Promise<void> {
  const liveDir = path.join(dir, 'live');
  await mkdir(liveDir);
  const live = startLiveHls(liveDir);
  const server = await startTestServer();
  server.route('/live', { kind: 'dir', dir: liveDir });
  try {
    await live.waitForSegments(3);
    const config = defaultConfig({ network: { allowPrivate: true } });
    const cpu0 = process.cpuUsage();
    const kids0 = await childrenCpu();
    const t0 = performance.now();
    const r = await recordStream({
      playlistUrl: `${server.origin}/live/live.m3u8`, recordingDuration: RECORD_SECONDS, maxFragmentDuration: 10,
      outDir: path.join(dir, 'fragments'), config,
    });
    const wall = (performance.now() - t0) / 1000;
    const kids = (await childrenCpu()) - kids0;
    const own = process.cpuUsage(cpu0);
    const node = (own.user + own.system) / 1e6;
    const perMin = 60 / r.recordedSeconds;
    console.log(`\n## record-stream CPU, ${r.recordedSeconds.toFixed(1)} s recorded (${r.fragments.length} fragments) in ${wall.toFixed(1)} s wall`);
    console.log('| process | CPU s per minute of stream |');
    console.log('|---|---:|');
    console.log(`| ffmpeg (stream copy) + ffprobe | ${(kids * perMin).toFixed(2)} |`);
    console.log(`| Node (proxy, playlist, test server) | ${(node * perMin).toFixed(2)} |`);
  } finally {
    await live.stop('kill');
    await server.close();
  }
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-download-'));
try {
  await throughput(dir);
  if (!argv.includes('--skip-record')) await recordCpu(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
