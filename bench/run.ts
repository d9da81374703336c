/**
 * Runs the benchmarks: every bench/<name>.bench.ts, or the ones named, each as its own process
 * (`npx tsx bench/<name>.bench.ts`), one after the other so that they do not measure each other.
 * Prints each benchmark's output as it comes, then one table of the headline figures that the
 * benchmarks report (bench/figures.ts), each beside its peer's from the same run with the ratio,
 * and writes that table and a description of the machine into bench/RESULTS.md ("## summary").
 * Each benchmark still writes its own section there.
 *
 *   npm run bench                     # all of them
 *   npm run bench -- ocr upscale      # some
 *   npm run bench -- --quick          # options are passed to every benchmark (those that know them)
 *   npm run bench -- --list
 *   npm run bench -- upscale --no-write   # print only (benchmarks that know --no-write, and this summary)
 *
 * Exits non-zero when a benchmark failed (the others still run).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { advantage, parseFigure, type Figure } from './figures.js';
import { RESULTS_FILE, writeResultsSection } from './results-file.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

interface Outcome {
  name: string;
  code: number | null;
  seconds: number;
  figures: Figure[];
}

function discover(): string[] {
  return readdirSync(HERE).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
}

/** Splits the command line into benchmark names and the options passed through to each. */
function parseArgs(argv: string[], known: string[]): { names: string[]; passthrough: string[]; list: boolean } {
  const names: string[] = [];
  const passthrough: string[] = [];
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--list') list = true;
    else if (a.startsWith('-')) passthrough.push(a);
    else if (known.includes(a)) names.push(a);
    else if (i > 0 && argv[i - 1]!.startsWith('-') && argv[i - 1] !== '--list') passthrough.push(a); // an option's value
    else throw new Error(`no benchmark "${a}" (bench/${a}.bench.ts); there are: ${known.join(', ')}`);
  }
  return { names, passthrough, list };
}

export function describeMachine(): string {
  const cpus = os.cpus();
  const model = cpus[0]?.model.trim() ?? 'unknown CPU';
  const load = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
  const gib = (n: number) => (n / 2 ** 30).toFixed(1);
  return `${model}, ${os.availableParallelism()} cores, ${gib(os.totalmem())} GiB memory (${gib(os.freemem())} GiB free), `
    + `load average ${load} (1 / 5 / 15 min), ${os.type()} ${os.release()} ${os.arch()}, Node ${process.version}, `
    + `${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`;
}

function runOne(name: string, passthrough: string[]): Promise<Outcome> {
  const started = performance.now();
  const figures: Figure[] = [];
  const child = spawn('npx', ['tsx', path.join('bench', `${name}.bench.ts`), ...passthrough], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on('line', (line) => {
    const f = parseFigure(line);
    if (f) figures.push(f);
    console.log(line);
  });
  return new Promise((resolve) => {
    child.once('error', (err) => {
      console.error(`bench ${name}: ${err.message}`);
      resolve({ name, code: -1, seconds: (performance.now() - started) / 1000, figures });
    });
    child.once('close', (code) => resolve({ name, code, seconds: (performance.now() - started) / 1000, figures }));
  });
}

/** Programs the benchmarks call (installed by .ci/run on a fresh machine): named up front when missing. */
const TOOLS = ['curl', 'sha256sum', 'ffmpeg', 'ffprobe', 'convert', 'tesseract', 'sox', 'espeak-ng', 'chromium'];

function missingTools(): string[] {
  return TOOLS.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0);
}

const num = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 10 ? v.toFixed(1) : v.toPrecision(3));

function figureRow(bench: string, f: Figure, date: string): string {
  const adv = advantage(f);
  const peer = f.peer ? `${f.peer.name}: ${num(f.peer.value)} ${f.unit}` : '—';
  const ratio = adv === undefined ? '—' : `${adv.toFixed(2)}×`;
  return `| ${bench} | ${f.name} | ${num(f.value)} ${f.unit} | ${peer} | ${ratio} | ${f.goal ?? '—'} | ${date} |`;
}

const TABLE_HEAD = ['| benchmark | figure | value | peer (same run) | vs peer (above 1×: better) | goal | run (date, load average at its start) |', '|---|---|---|---|---|---|---|'];

/** Rows of the summary table already in RESULTS.md, by benchmark, for the benchmarks not run now. */
function previousRows(): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  if (!existsSync(RESULTS_FILE)) return rows;
  const text = readFileSync(RESULTS_FILE, 'utf8');
  const start = text.search(/^## summary\s*$/m);
  if (start < 0) return rows;
  const rest = text.slice(start + 1);
  const end = rest.search(/^## /m);
  for (const line of (end < 0 ? rest : rest.slice(0, end)).split('\n')) {
    const m = /^\| ([\w-]+) \|/.exec(line);
    if (!m || m[1] === 'benchmark') continue;
    rows.set(m[1]!, [...(rows.get(m[1]!) ?? []), line]);
  }
  return rows;
}

function writeSummary(outcomes: Outcome[], machine: string, loadEnd: string, command: string, load0: number): void {
  const date = `${new Date().toISOString().slice(0, 10)}, ${load0.toFixed(1)}`;
  const kept = previousRows();
  for (const o of outcomes) kept.delete(o.name);
  const rows = [
    ...outcomes.flatMap((o) => (o.figures.length ? o.figures.map((f) => figureRow(o.name, f, date)) : [])),
    ...[...kept.values()].flat(),
  ];
  const status = outcomes.map((o) => `${o.name} ${o.code === 0 ? 'ok' : `failed (exit ${o.code})`} in ${Math.round(o.seconds)} s`
    + (o.figures.length ? '' : ', no headline figures (its section below has them)'));
  const section = [
    '## summary',
    '',
    `Last run: \`${command}\` — ${status.join('; ')}.`,
    '',
    `Machine: ${machine}; load average at the end ${loadEnd}.`,
    '',
    'Headline figures, each with its peer measured in the same run (the ratio reads the same way for',
    'speed and latency: above 1× is better than the peer). Rows of benchmarks not in the last run are',
    'kept from their own run (its date and load in the last column). Details and conditions: each',
    'section below.',
    '',
    ...TABLE_HEAD,
    ...rows,
    '',
  ].join('\n');
  if (existsSync(RESULTS_FILE) && !/^## summary\s*$/m.test(readFileSync(RESULTS_FILE, 'utf8'))) {
    // First summary: right under the title, before the benchmarks' own sections.
    const text = readFileSync(RESULTS_FILE, 'utf8');
    const at = text.search(/^## /m);
    writeFileSync(RESULTS_FILE, at < 0 ? `${text.trimEnd()}\n\n${section}` : `${text.slice(0, at)}${section}\n${text.slice(at)}`);
  } else {
    writeResultsSection('summary', section);
  }
}

async function main() {
  const known = discover();
  let args: ReturnType<typeof parseArgs>;
  try {
    args = parseArgs(process.argv.slice(2), known);
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 2;
    return;
  }
  const { names, passthrough, list } = args;
  if (list) {
    console.log(known.join('\n'));
    return;
  }
  const chosen = names.length ? names : known;
  const machine = describeMachine();
  const load0 = os.loadavg()[0];
  console.log(`machine: ${machine}`);
  const missing = missingTools();
  if (missing.length) console.log(`warning: not installed: ${missing.join(', ')} — the benchmarks that call them will fail (.ci/run lists the Debian packages)`);
  const outcomes: Outcome[] = [];
  for (const name of chosen) {
    console.log(`\n━━ bench ${name} ━━ npx tsx bench/${name}.bench.ts ${passthrough.join(' ')}`.trimEnd());
    const o = await runOne(name, passthrough);
    outcomes.push(o);
    console.log(`━━ ${name}: ${o.code === 0 ? 'ok' : `FAILED (exit ${o.code})`} in ${o.seconds.toFixed(0)} s`);
  }

  const loadEnd = os.loadavg().map((l) => l.toFixed(2)).join(' / ');
  console.log(`\n━━ summary (${machine}; load average at the end ${loadEnd})`);
  for (const o of outcomes) {
    if (o.code !== 0) console.log(`${o.name}: FAILED (exit ${o.code})`);
    if (!o.figures.length) console.log(`${o.name}: no headline figures (see its output above)`);
    for (const f of o.figures) {
      const adv = advantage(f);
      console.log(`${o.name}: ${f.name}: ${num(f.value)} ${f.unit}`
        + (f.peer ? ` | ${f.peer.name}: ${num(f.peer.value)} ${f.unit} | ${adv === undefined ? '—' : `${adv.toFixed(2)}× ${adv >= 1 ? 'better' : 'worse'} than the peer`}` : '')
        + (f.goal ? ` | goal ${f.goal}` : ''));
    }
  }
  const command = `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  if (passthrough.includes('--no-write')) console.log('\n--no-write: bench/RESULTS.md left as it was');
  else {
    writeSummary(outcomes, machine, loadEnd, command, load0);
    console.log(`\nwritten: ${path.relative(ROOT, RESULTS_FILE)} (## summary)`);
  }
  if (outcomes.some((o) => o.code !== 0)) process.exitCode = 1;
}

await main();
