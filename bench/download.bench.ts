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
 * Run: npx tsx bench/download.bench.ts [--gib 2] [--rounds 2] [--record-seconds 30]
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
const ROUNDS = arg('rounds', 2);
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

/** utime + stime of reaped children, seconds (fields 16 and 17 of /proc/self/stat). */
async function childrenCpu(): Promise<number> {
  const stat = await readFile('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const hz = 100; // USER_HZ on Linux
  return (Number(f[13]) + Number(f[14])) / hz;
}

async function throughput(dir: string): Promise<void> {
  const size = Math.round(GIB * 1024 * MiB);
  const server = await startBodyServer();
  const url = `${server.origin}/body?size=${size}`;
  const config = defaultConfig({ network: { allowPrivate: true }, limits: { maxDownloadMb: GIB * 1024 + 1 } });
  const dest = path.join(dir, 'body.bin');
  const rows: Record<string, number[]> = { 'curl -o': [], 'curl -o + sha256sum': [], 'mediaflow downloadToFile': [] };
  const rss: Record<string, number> = {};
  try {
    const base = process.memoryUsage().rss;
    // Warm-up (page cache, server JIT), untimed.
    await downloadToFile(`${server.origin}/body?size=${256 * MiB}`, dest, { config });
    await rm(dest, { force: true });
    for (const [label, n] of [['256 MiB', 256 * MiB], [`${GIB} GiB`, size]] as const) {
      const s = sampleRss();
      await downloadToFile(`${server.origin}/body?size=${n}`, dest, { config });
      rss[label] = s.stop();
      await rm(dest, { force: true });
    }
    rss.baseline = base;
    for (let r = 0; r < ROUNDS; r++) {
      let t = performance.now();
      await run('curl', ['-s', '-o', dest, url]);
      rows['curl -o'].push(performance.now() - t);
      t = performance.now();
      await run('sha256sum', [dest]);
      rows['curl -o + sha256sum'].push(rows['curl -o'].at(-1)! + performance.now() - t);
      await rm(dest, { force: true });
      t = performance.now();
      const got = await downloadToFile(url, dest, { config });
      rows['mediaflow downloadToFile'].push(performance.now() - t);
      if (got.size !== size) throw new Error(`short download: ${got.size}`);
      await rm(dest, { force: true });
    }
  } finally {
    server.stop();
    await rm(dest, { force: true });
  }
  const best = (ms: number[]) => Math.min(...ms);
  const mbps = (ms: number) => (size / MiB) / (ms / 1000);
  const curl = mbps(best(rows['curl -o']));
  console.log(`\n## throughput, ${GIB} GiB over loopback, best of ${ROUNDS}`);
  console.log('| client | MiB/s | vs curl -o |');
  console.log('|---|---:|---:|');
  for (const [k, v] of Object.entries(rows)) console.log(`| ${k} | ${mbps(best(v)).toFixed(0)} | ${(mbps(best(v)) / curl).toFixed(2)}× |`);
  console.log(`\n## peak RSS of the downloading process`);
  console.log(`| download | peak RSS (MiB) |`);
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
  await recordCpu(dir);
} finally {
  await rm(dir, { recursive: true, force: true });
}
