/**
 * OCR benchmark: pages per second and character error rate (CER) of Mediaflow's `ocr` processor
 * against the `tesseract` command (Debian's tesseract-ocr), on the same pages, both using all cores:
 * Mediaflow with its pool of 2 workers and 2 jobs in flight, the command as 2 processes in parallel
 * with OMP_THREAD_LIMIT=1 (one thread each, as Tesseract recommends for parallel pages).
 *
 * Pages: 12 rendered paragraphs pages (clean PNG, "scanned" PNG with blur and noise, tilted JPEG;
 * various fonts) with their exact text as ground truth, plus the five fixtures in
 * test/fixtures/ocr with their `.gt.txt`.
 *
 * Rows:
 *  - mediaflow: the processor as a worker runs it (sharp decode → grey PGM → pooled tesseract.js).
 *  - mediaflow-raw: the same pool fed the original file bytes (no sharp pre-processing): measures
 *    what decoding with sharp to PGM/PPM first costs or buys.
 *  - tesseract-cli: /usr/bin/tesseract with Debian's eng.traineddata.
 *  - mediaflow-fastdata: the processor with `models.paths["tesseract-eng"]` set to Debian's
 *    eng.traineddata (tessdata_fast): the command's model, so the engine alone is compared.
 *  - tesseract-cli-jsdata: the command with the traineddata Mediaflow ships
 *    (@tesseract.js-data/eng, gunzipped): again the same model on both sides.
 *
 * Run: npx tsx bench/ocr.bench.ts [--rounds 3] [--json]
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultConfig } from '../src/config/load-config.js';
import { sniffMime } from '../src/media/sniff.js';
import { ocrProcessor } from '../src/processors/ocr/index.js';
import { shutdownOcrPool } from '../src/processors/ocr/ocr.engine.js';
import { resolveLanguages } from '../src/processors/ocr/ocr.languages.js';
import { OcrPool } from '../src/processors/ocr/ocr.pool.js';
import { createLocalContext, fileInputFromPath } from '../src/worker/local-context.js';
import { paragraph, renderText } from '../test/helpers/text-images.js';
import { corpusErrorRate } from '../test/helpers/text-metrics.js';

const run = promisify(execFile);
const argv = process.argv.slice(2);
const ROUNDS = Number(argv[argv.indexOf('--rounds') + 1] || 3) || 3;
const PARALLEL = 2;
const FIXTURES = path.resolve(import.meta.dirname, '../test/fixtures/ocr');
const TESSERACT = '/usr/bin/tesseract';
const DEBIAN_ENG = '/usr/share/tesseract-ocr/5/tessdata/eng.traineddata';

interface Page { name: string; file: string; truth: string }
interface Engine {
  name: string;
  recognise(page: Page): Promise<string>;
  /** Untimed run before each timed round (pooled workers started: a server pays that once). */
  warm?: boolean;
}

const SENTENCES = [
  'The committee met on Tuesday, 14 March 2023, to review the budget of $12,480.50 for the new reading room.',
  'Each volume was catalogued by hand; the index cards, numbered 1 to 2,750, still sit in the oak cabinet.',
  'Please send corrections to archive@example.org before the end of the month, quoting the page number.',
  'A quick brown fox jumps over the lazy dog while five boxing wizards jump quickly over the fence.',
  'Measurements were taken every 15 minutes at 3 stations; the mean temperature was 18.7 degrees.',
  'Chapter 7 explains why the old printing press needed 40% less ink than the machines that replaced it.',
  'Visitors may borrow up to six books at a time (reference works excepted) for a period of 21 days.',
  'The river rose by 2.3 metres in April, flooding the lower fields and the road between the two villages.',
];
const FONTS = ['DejaVu-Sans', 'DejaVu-Serif', 'Liberation-Serif', 'Liberation-Sans', 'Nimbus-Roman-Regular', 'DejaVu-Sans-Mono'];

async function makePages(dir: string): Promise<Page[]> {
  const pages: Page[] = [];
  for (let i = 0; i < 12; i++) {
    // Rotate the sentence list so every page reads differently.
    const text = paragraph(SENTENCES.slice(i % 8).concat(SENTENCES.slice(0, i % 8)).join(' '), 24, 72);
    const style = i < 4 ? 'clean' : i < 8 ? 'scan' : 'tilt';
    const post = style === 'scan' ? ['-blur', '0x0.8', '-attenuate', '0.7', '+noise', 'Gaussian', '-colorspace', 'Gray']
      : style === 'tilt' ? ['-rotate', '0.8', '-quality', '75'] : [];
    const name = `page-${String(i + 1).padStart(2, '0')}-${style}.${style === 'tilt' ? 'jpg' : 'png'}`;
    const file = await renderText(dir, name, text, { font: FONTS[i % FONTS.length], pointsize: [26, 20, 16][i % 3], border: 60, post });
    pages.push({ name, file, truth: text });
  }
  for (const f of (await readdir(FIXTURES)).filter((n) => !n.endsWith('.txt')).sort()) {
    pages.push({ name: f, file: path.join(FIXTURES, f), truth: await readFile(path.join(FIXTURES, f.replace(/\.\w+$/, '.gt.txt')), 'utf8') });
  }
  return pages;
}

/** CPU seconds used by `tesseract` child processes (read from GNU time's reports). */
let childCpu = 0;

/**
 * Runs `fn` over the pages with `PARALLEL` in flight. Returns wall seconds, CPU seconds (this process,
 * worker threads and libvips threads included, plus the `tesseract` children) and texts in page order.
 * CPU time is the figure to compare on a shared machine: wall time moves with other people's load.
 */
async function timed(pages: Page[], fn: (p: Page) => Promise<string>): Promise<{ seconds: number; cpu: number; texts: string[] }> {
  const texts: string[] = new Array(pages.length);
  let next = 0;
  const child0 = childCpu;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: PARALLEL }, async () => {
    while (next < pages.length) {
      const i = next++;
      texts[i] = await fn(pages[i]!);
    }
  }));
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { seconds, cpu: (cpu.user + cpu.system) / 1e6 + (childCpu - child0), texts };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ocr-bench-'));
  try {
    const pageDir = path.join(work, 'pages');
    await mkdir(pageDir);
    const pages = await makePages(pageDir);
    const config = defaultConfig({ data: work, concurrency: { ocr: PARALLEL } });

    // tessdata folder holding the traineddata Mediaflow uses, for the "same model" CLI row.
    const jsdata = path.join(work, 'tessdata-jsdata');
    await mkdir(jsdata);
    const engFile = resolveLanguages('eng').files.eng!;
    await writeFile(path.join(jsdata, 'eng.traineddata'), gunzipSync(await readFile(engFile)));

    let cliSeq = 0;
    const cli = (tessdata?: string) => async (p: Page) => {
      const report = path.join(work, `time-${++cliSeq}.txt`);
      const args = ['-f', '%U %S', '-o', report, TESSERACT, p.file, 'stdout', '--psm', '3', '-l', 'eng', ...(tessdata ? ['--tessdata-dir', tessdata] : [])];
      const { stdout } = await run('/usr/bin/time', args, { env: { ...process.env, OMP_THREAD_LIMIT: '1' }, maxBuffer: 16 << 20 });
      const [user, sys] = (await readFile(report, 'utf8')).trim().split(/\s+/).slice(-2).map(Number);
      childCpu += user! + sys!;
      await rm(report, { force: true });
      return stdout;
    };

    let seq = 0;
    const fastConfig = defaultConfig({ data: work, concurrency: { ocr: PARALLEL }, models: { paths: { 'tesseract-eng': DEBIAN_ENG } } });
    const processor = (cfg: typeof config) => async (p: Page) => {
      const outDir = path.join(work, 'out', String(++seq));
      const ctx = await createLocalContext({ config: cfg, outDir });
      try {
        const input = await fileInputFromPath(p.file, await sniffMime(p.file));
        return (await ocrProcessor.run(ctx, input, { lang: 'eng', psm: 3, hocr: false, tsv: false })).text;
      } finally {
        await ctx.dispose();
        await rm(outDir, { recursive: true, force: true });
      }
    };
    const mediaflow = processor(config);

    const rawPool = new OcrPool({ size: PARALLEL });
    const eng = resolveLanguages('eng');
    const mediaflowRaw = async (p: Page) => (await rawPool.recognize({ langs: eng, psm: 3 }, await readFile(p.file), { output: { text: true } })).text;

    const engines: Engine[] = [
      { name: 'mediaflow', recognise: mediaflow, warm: true },
      { name: 'mediaflow-raw', recognise: mediaflowRaw, warm: true },
      { name: 'tesseract-cli', recognise: cli() },
      { name: 'mediaflow-fastdata', recognise: processor(fastConfig), warm: true },
      { name: 'tesseract-cli-jsdata', recognise: cli(jsdata) },
    ];

    // Worker start-up, measured apart (a server pays it once per worker, not per page): a one-word
    // job on a cold pool, then the same job on the warm pool.
    const word: Page = { name: 'word', file: await renderText(pageDir, 'word.png', 'Warm'), truth: 'Warm' };
    let t0 = performance.now();
    await Promise.all([mediaflow(word), mediaflow(word)]);
    const cold = (performance.now() - t0) / 1000;
    t0 = performance.now();
    await Promise.all([mediaflow(word), mediaflow(word)]);
    const warm = (performance.now() - t0) / 1000;

    const results = new Map<string, { rates: number[]; cpuPerPage: number[]; cer: number; cerRendered: number; cerFixtures: number }>();
    for (let r = 0; r < ROUNDS; r++) {
      for (const e of engines) {
        if (e.warm) await Promise.all([e.recognise(pages[0]!), e.recognise(pages[1]!)]);
        const { seconds, cpu, texts } = await timed(pages, e.recognise);
        const pairs = pages.map((p, i) => ({ hypothesis: texts[i]!, reference: p.truth }));
        const entry = results.get(e.name) ?? { rates: [], cpuPerPage: [], cer: 0, cerRendered: 0, cerFixtures: 0 };
        entry.rates.push(pages.length / seconds);
        entry.cpuPerPage.push(cpu / pages.length);
        entry.cer = corpusErrorRate(pairs);
        entry.cerRendered = corpusErrorRate(pairs.slice(0, 12));
        entry.cerFixtures = corpusErrorRate(pairs.slice(12));
        results.set(e.name, entry);
        console.error(`round ${r + 1}/${ROUNDS} ${e.name}: ${(pages.length / seconds).toFixed(2)} pages/s, ${(cpu / pages.length).toFixed(2)} CPU-s/page, CER ${(entry.cer * 100).toFixed(2)}%, load ${os.loadavg()[0]!.toFixed(1)}`);
      }
    }

    const tessVersion = spawnSync(TESSERACT, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
    const debData = spawnSync('dpkg-query', ['-W', '-f', '${Version}', 'tesseract-ocr-eng'], { encoding: 'utf8' }).stdout;
    const cpu = os.cpus()[0]?.model ?? 'unknown';
    const base = median(results.get('tesseract-cli')!.rates);
    const baseCpu = median(results.get('tesseract-cli')!.cpuPerPage);
    console.log(`Machine: ${os.cpus().length} × ${cpu}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}, Node ${process.version}; load average at end ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(`Pages: ${pages.length} (12 rendered, 5 fixtures); ${PARALLEL} in flight; psm 3; median of ${ROUNDS} rounds. Mediaflow worker start-up: two one-word jobs take ${cold.toFixed(2)} s on a cold pool, ${warm.toFixed(2)} s on a warm one.`);
    console.log(`tesseract: ${tessVersion}; Debian eng data tesseract-ocr-eng ${debData} (tessdata_fast); Mediaflow: tesseract.js with @tesseract.js-data/eng ${path.basename(path.dirname(engFile))}.`);
    console.log('');
    console.log('| engine | pages/s (wall) | × cli | CPU-s/page | × cli (by CPU) | CER all | CER rendered | CER fixtures |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const e of engines) {
      const x = results.get(e.name)!;
      const rate = median(x.rates);
      const cpu = median(x.cpuPerPage);
      console.log(`| ${e.name} | ${rate.toFixed(2)} | ${(rate / base).toFixed(2)} | ${cpu.toFixed(2)} | ${(baseCpu / cpu).toFixed(2)} | ${(x.cer * 100).toFixed(2)}% | ${(x.cerRendered * 100).toFixed(2)}% | ${(x.cerFixtures * 100).toFixed(2)}% |`);
    }
    await rawPool.shutdown();
  } finally {
    await shutdownOcrPool();
    await rm(work, { recursive: true, force: true });
  }
}

await main();
