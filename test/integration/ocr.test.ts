import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gunzipSync } from 'node:zlib';
import type { AppConfig } from '../../src/config/config.schema.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { InputError, isMediaflowError } from '../../src/core/errors.js';
import { sniffMime } from '../../src/media/sniff.js';
import { ocrProcessor, type OcrResult, type OcrWord } from '../../src/processors/ocr/index.js';
import { ocrPoolStats, shutdownOcrPool } from '../../src/processors/ocr/ocr.engine.js';
import { resolveLanguages } from '../../src/processors/ocr/ocr.languages.js';
import { getProcessor } from '../../src/processors/registry.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import { convertImage, paragraph, renderText, writeExifRotatedJpeg, writeHugePngHeader } from '../helpers/text-images.js';
import { characterErrorRate } from '../helpers/text-metrics.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/ocr');
/** The default: the installed `tesseract` command (.ci/run installs Debian's tesseract-ocr). */
const config = defaultConfig({ data: os.tmpdir() });
/** `tools.tesseract` empty: tesseract.js, the engine of a machine without the command. */
const wasmConfig = defaultConfig({ data: os.tmpdir(), tools: { tesseract: '' } });
const ENGINES = [
  { name: 'tesseract command', config, label: /^tesseract 5\.\d+\.\d+$/ },
  { name: 'tesseract.js', config: wasmConfig, label: /^tesseract\.js 7\.\d+\.\d+ \(Tesseract 5\.\d+\.\d+\)$/ },
] as const;
/** The packaged English model (gzipped), whatever a tessdata folder holds. */
const packagedEng = () => resolveLanguages('eng', undefined, { folders: [] }).files.eng!;
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ocr-test-'));
});

after(async () => {
  await shutdownOcrPool();
  await rm(dir, { recursive: true, force: true });
});

type Params = { lang: string; psm: number; hocr: boolean; tsv: boolean };
const defaults: Params = { lang: 'eng', psm: 3, hocr: false, tsv: false };

interface RunOptions {
  params?: Partial<Params>;
  signal?: AbortSignal;
  mime?: string;
  config?: AppConfig;
  onProgress?: (f: number, stage?: string) => void;
}

/** Runs the processor the way a worker does: sniffed input, a real context writing to a folder. */
async function ocr(file: string, opts: RunOptions = {}): Promise<{ result: OcrResult; outDir: string; outputs: string[] }> {
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const ctx = await createLocalContext({ config: opts.config ?? config, outDir, signal: opts.signal, onProgress: opts.onProgress });
  try {
    const input = await fileInputFromPath(file, opts.mime ?? await sniffMime(file));
    const result = await ocrProcessor.run(ctx, input, { ...defaults, ...opts.params });
    return { result, outDir, outputs: ctx.outputs.map((o) => o.name).sort() };
  } finally {
    await ctx.dispose();
  }
}

const words = (r: OcrResult): OcrWord[] => r.blocks.flatMap((b) => b.lines.flatMap((l) => l.words));

function assertInputError(code: string) {
  return (err: unknown) => {
    assert.ok(err instanceof InputError, `expected an InputError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, false);
    return true;
  };
}

test('ocr is registered and light: no engine loaded by the definition', () => {
  assert.equal(getProcessor('ocr', false), ocrProcessor);
  assert.deepEqual(ocrProcessor.policy, { concurrency: 2, timeoutMs: 120_000, attempts: 2, backoffMs: 1000, resource: 'cpu' });
  assert.ok(ocrProcessor.input.kind === 'file' && ocrProcessor.input.accept.includes('image/png'));
});

for (const engine of ENGINES) {
test(`${engine.name}: recognises rendered words, with boxes inside the image in reading order, and writes text.txt`, async () => {
  const file = await renderText(dir, 'two-lines.png', 'The quick brown fox\njumps over the lazy dog 1234');
  const progress: number[] = [];
  const { result, outDir, outputs } = await ocr(file, { config: engine.config, onProgress: (f) => progress.push(f) });

  for (const w of ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '1234']) {
    assert.match(result.text, new RegExp(`\\b${w}\\b`), `missing "${w}" in ${JSON.stringify(result.text)}`);
  }
  assert.equal(result.language, 'eng');
  assert.equal(result.psm, 3);
  assert.ok(result.confidence > 80 && result.confidence <= 100, `confidence ${result.confidence}`);
  assert.equal(result.lineCount, 2);
  assert.equal(result.wordCount, 10);
  assert.match(result.engine, engine.label);

  const { width, height } = result.image;
  const lines = result.blocks.flatMap((b) => b.lines);
  assert.deepEqual(lines.map((l) => l.text), ['The quick brown fox', 'jumps over the lazy dog 1234']);
  for (const [i, line] of lines.entries()) {
    if (i > 0) assert.ok(line.bbox.y0 >= lines[i - 1]!.bbox.y1 - 2, 'lines go top to bottom');
    for (const [j, w] of line.words.entries()) {
      assert.ok(w.bbox.x0 >= 0 && w.bbox.y0 >= 0 && w.bbox.x1 <= width && w.bbox.y1 <= height, `box inside the image: ${JSON.stringify(w)}`);
      assert.ok(w.bbox.x1 > w.bbox.x0 && w.bbox.y1 > w.bbox.y0, 'box not empty');
      // The word's box lies within its line's box.
      assert.ok(w.bbox.x0 >= line.bbox.x0 && w.bbox.x1 <= line.bbox.x1 && w.bbox.y0 >= line.bbox.y0 && w.bbox.y1 <= line.bbox.y1);
      if (j > 0) assert.ok(w.bbox.x0 > line.words[j - 1]!.bbox.x1, 'words go left to right without overlap');
      assert.ok(w.confidence > 50 && w.confidence <= 100);
    }
  }
  // The 20 px border the renderer adds: the first word starts close to it, not at 0.
  assert.ok(Math.abs(lines[0]!.words[0]!.bbox.x0 - 20) <= 6, `first word at x=${lines[0]!.words[0]!.bbox.x0}`);

  assert.deepEqual(outputs, ['text.txt']);
  assert.equal(await readFile(path.join(outDir, 'text.txt'), 'utf8'), `${result.text}\n`);
  assert.ok(progress.length >= 3 && progress.at(-1) === 1, `progress ${progress.join(',')}`);
  assert.deepEqual([...progress].sort((a, b) => a - b), progress, 'progress never goes back');
});

test(`${engine.name}: hocr and tsv outputs describe the same words and boxes`, async () => {
  const file = await renderText(dir, 'hocr.png', 'Mediaflow reads text');
  const { result, outDir, outputs } = await ocr(file, { config: engine.config, params: { hocr: true, tsv: true } });
  assert.deepEqual(outputs, ['text.hocr', 'text.tsv', 'text.txt']);

  const hocr = await readFile(path.join(outDir, 'text.hocr'), 'utf8');
  assert.match(hocr, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  assert.ok(hocr.includes(`<meta name='ocr-system' content='${result.engine}' />`), hocr.slice(0, 600));
  assert.match(hocr, /<div class='ocr_page' id='page_1' title='image "unknown"; bbox 0 0 \d+ \d+/, 'no temporary path in the file');
  const hocrWords = [...hocr.matchAll(/<span class='ocrx_word'[^>]*title='bbox (\d+) (\d+) (\d+) (\d+); x_wconf (\d+)'[^>]*>([^<]+)<\/span>/g)];
  assert.deepEqual(hocrWords.map((m) => m[6]), ['Mediaflow', 'reads', 'text']);
  assert.ok(hocr.trimEnd().endsWith('</html>'));

  const tsv = (await readFile(path.join(outDir, 'text.tsv'), 'utf8')).trimEnd().split('\n').map((l) => l.split('\t'));
  assert.deepEqual(tsv[0], ['level', 'page_num', 'block_num', 'par_num', 'line_num', 'word_num', 'left', 'top', 'width', 'height', 'conf', 'text']);
  const tsvWords = tsv.filter((r) => r[0] === '5');
  assert.deepEqual(tsvWords.map((r) => r[11]), ['Mediaflow', 'reads', 'text']);

  // The three views agree on where each word is.
  for (const [i, w] of words(result).entries()) {
    const h = hocrWords[i]!.slice(1, 5).map(Number);
    assert.deepEqual(h, [w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1]);
    const [left, top, width, height] = tsvWords[i]!.slice(6, 10).map(Number);
    assert.deepEqual([left, top, left! + width!, top! + height!], [w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1]);
  }
});
}

// Measured CERs (psm 3) are in the comments: the tesseract command and tesseract.js with Debian's
// eng.traineddata (tessdata_fast), then tesseract.js with @tesseract.js-data/eng (best_int); each bound
// leaves a margin of a few characters for engine or data updates.
const FIXTURE_BOUNDS: Record<string, number> = {
  'chap4_summary.png': 0.02, // measured 0.000, 0.000; 0.000
  'eurotext.png': 0.06, // measured 0.022, 0.024; 0.019 (accents and «» outside the English model)
  'phototest_2.png': 0.02, // measured 0.000, 0.000; 0.000
  'quick_start_watson_studio.jpg': 0.03, // measured 0.000, 0.000; 0.002
  'text_with_numbers.png': 0.03, // measured 0.000, 0.000; 0.007
};

for (const engine of ENGINES) {
  test(`${engine.name}: the five fixtures reach their character error rates, two jobs at once`, async () => {
    const names = Object.keys(FIXTURE_BOUNDS);
    const results = await Promise.all(names.map(async (name) => {
      const { result } = await ocr(path.join(FIXTURES, name), { config: engine.config });
      const gt = await readFile(path.join(FIXTURES, name.replace(/\.\w+$/, '.gt.txt')), 'utf8');
      return { name, cer: characterErrorRate(result.text, gt) };
    }));
    for (const { name, cer } of results) {
      assert.ok(cer < FIXTURE_BOUNDS[name]!, `${name}: CER ${cer.toFixed(4)} ≥ ${FIXTURE_BOUNDS[name]}`);
    }
    if (engine.config === wasmConfig) {
      const stats = ocrPoolStats()!;
      assert.ok(stats.workers <= 2 && stats.size === 2, `pool bounded by the concurrency: ${JSON.stringify(stats)}`);
    }
  });
}

test('tesseract.js with the packaged data (nothing installed) reaches the fixtures\' error rates too', async () => {
  const packaged = defaultConfig({ data: os.tmpdir(), tools: { tesseract: '' }, models: { paths: { 'tesseract-eng': packagedEng() } } });
  for (const name of Object.keys(FIXTURE_BOUNDS)) {
    const { result } = await ocr(path.join(FIXTURES, name), { config: packaged });
    const cer = characterErrorRate(result.text, await readFile(path.join(FIXTURES, name.replace(/\.\w+$/, '.gt.txt')), 'utf8'));
    assert.ok(cer < FIXTURE_BOUNDS[name]!, `${name}: CER ${cer.toFixed(4)} ≥ ${FIXTURE_BOUNDS[name]}`);
  }
});

test('tesseract.js workers are pooled: a second job reuses the worker instead of creating one', async () => {
  const file = await renderText(dir, 'reuse.png', 'Reuse the worker');
  await ocr(file, { config: wasmConfig });
  const before = ocrPoolStats()!;
  const { result } = await ocr(file, { config: wasmConfig });
  const afterStats = ocrPoolStats()!;
  assert.match(result.text, /Reuse the worker/);
  assert.equal(afterStats.created, before.created, 'no worker created for the second job');
  assert.equal(afterStats.jobs, before.jobs + 1);
  assert.equal(afterStats.busy, 0);
  assert.ok(afterStats.keys['eng|psm3']! >= 1);
});

test('the tesseract command runs without the pool: no tesseract.js worker is started', async () => {
  const jobsBefore = ocrPoolStats()?.jobs ?? 0;
  const { result } = await ocr(await renderText(dir, 'native.png', 'No worker thread'));
  assert.equal(result.text, 'No worker thread');
  assert.match(result.engine, /^tesseract \d/);
  assert.equal(ocrPoolStats()?.jobs ?? 0, jobsBefore);
});

test('a tools.tesseract that does not exist falls back to tesseract.js, and /ready says why', async () => {
  const missing = defaultConfig({ data: os.tmpdir(), tools: { tesseract: path.join(dir, 'no-such-tesseract') } });
  const { result } = await ocr(await renderText(dir, 'fallback.png', 'Fallback engine'), { config: missing });
  assert.equal(result.text, 'Fallback engine');
  assert.match(result.engine, /^tesseract\.js /);
  const check = await ocrProcessor.check!(missing);
  assert.equal(check.ok, true);
  assert.match(check.detail!, /^tesseract\.js \S+ \(.*no-such-tesseract not found\); languages: /);
});

for (const engine of ENGINES) {
  test(`${engine.name}: psm 7 reads a single line`, async () => {
    const file = await renderText(dir, 'line.png', 'single line mode 42');
    const { result } = await ocr(file, { config: engine.config, params: { psm: 7 } });
    assert.equal(result.text, 'single line mode 42');
    assert.equal(result.psm, 7);
    if (engine.config === wasmConfig) {
      const stats = ocrPoolStats()!;
      assert.ok(stats.keys['eng|psm7'] === 1 && stats.workers <= 2, `another key gets its own worker within the bound: ${JSON.stringify(stats)}`);
    }
  });

  test(`${engine.name}: eng+fra reads French accents better than eng alone`, async () => {
    const text = 'Le cœur déçu mais l’âme plutôt naïve\nVoilà où était le garçon égaré';
    const file = await renderText(dir, 'fr.png', text);
    const eng = (await ocr(file, { config: engine.config })).result;
    const both = (await ocr(file, { config: engine.config, params: { lang: 'eng+fra' } })).result;
    assert.equal(both.language, 'eng+fra');
    const cerEng = characterErrorRate(eng.text, text);
    const cerBoth = characterErrorRate(both.text, text);
    assert.ok(cerBoth < 0.05, `eng+fra CER ${cerBoth.toFixed(3)}: ${both.text}`);
    assert.ok(cerBoth < cerEng, `eng+fra (${cerBoth.toFixed(3)}) should beat eng (${cerEng.toFixed(3)})`);
  });

  test(`${engine.name}: models.paths["tesseract-eng"] swaps the data file, gzipped or plain under another name`, async () => {
    const plain = path.join(dir, 'my-english-model.traineddata');
    await writeFile(plain, gunzipSync(await readFile(packagedEng())));
    const file = await renderText(dir, 'override.png', 'Custom model 77');
    for (const model of [plain, packagedEng()]) {
      const custom = defaultConfig({ data: os.tmpdir(), tools: engine.config.tools, models: { paths: { 'tesseract-eng': model } } });
      const before = ocrPoolStats()?.created ?? 0;
      const { result } = await ocr(file, { config: custom });
      assert.equal(result.text, 'Custom model 77', path.basename(model));
      if (engine.config === wasmConfig) assert.equal(ocrPoolStats()!.created, before + 1, 'a worker of its own, not one loaded with other data');
    }

    const missing = defaultConfig({ data: os.tmpdir(), tools: engine.config.tools, models: { paths: { 'tesseract-eng': path.join(dir, 'nope.traineddata') } } });
    await assert.rejects(ocr(file, { config: missing }), (err: unknown) => isMediaflowError(err) && err.code === 'MODEL_MISSING' && /nope\.traineddata/.test(err.message));
  });

  test(`${engine.name}: a language that is not installed gives OCR_LANG_UNAVAILABLE (400) naming the packages`, async () => {
    const file = await renderText(dir, 'lang.png', 'hello');
    const before = ocrPoolStats()?.created ?? 0;
    await assert.rejects(ocr(file, { config: engine.config, params: { lang: 'eng+xyz' } }), (err: unknown) => {
      assertInputError('OCR_LANG_UNAVAILABLE')(err);
      const e = err as InputError;
      assert.equal(e.status, 400);
      assert.match(e.message, /tesseract-ocr-xyz or @tesseract\.js-data\/xyz/);
      assert.deepEqual(e.details?.missing, ['xyz']);
      assert.ok((e.details?.installed as string[]).includes('eng'));
      return true;
    });
    await assert.rejects(ocr(file, { config: engine.config, params: { lang: '../../etc' } }), assertInputError('PARAMS_INVALID'));
    assert.equal(ocrPoolStats()?.created ?? 0, before, 'no worker started for a refused language');
  });

  test(`${engine.name}: every accepted format is read: JPEG with EXIF rotation, WebP, TIFF, BMP, GIF, transparent PNG`, async () => {
    const src = await renderText(dir, 'formats.png', 'Formats 2024');
    const rotated = await writeExifRotatedJpeg(src, path.join(dir, 'rotated.jpg'));
    const variants = [
      rotated,
      await convertImage(src, path.join(dir, 'f.webp')),
      await convertImage(src, path.join(dir, 'f.tiff')),
      await convertImage(src, path.join(dir, 'f.bmp')),
      await convertImage(src, path.join(dir, 'f.gif')),
      await renderText(dir, 'alpha.png', 'Formats 2024', { post: ['-transparent', 'white'] }),
    ];
    for (const file of variants) {
      const { result } = await ocr(file, { config: engine.config });
      assert.equal(result.text, 'Formats 2024', `${path.basename(file)}: ${JSON.stringify(result.text)}`);
      // Upright frame: wider than tall even for the EXIF-rotated JPEG.
      assert.ok(result.image.width > result.image.height, `${path.basename(file)} ${result.image.width}x${result.image.height}`);
    }
  });

  test(`${engine.name}: refuses a text file, a truncated PNG, a 100000×100000 header and a truncated BMP with clear InputErrors`, async () => {
    const opts = { config: engine.config };
    const txt = path.join(dir, 'notes.txt');
    await writeFile(txt, 'this is not an image\n'.repeat(20));
    await assert.rejects(ocr(txt, opts), assertInputError('INPUT_UNSUPPORTED_TYPE'));
    // The same bytes labelled as a PNG by a careless caller still fail cleanly.
    await assert.rejects(ocr(txt, { ...opts, mime: 'image/png' }), (err: unknown) => isMediaflowError(err) && ['INPUT_CORRUPT', 'INPUT_UNSUPPORTED_TYPE'].includes(err.code));

    const png = await readFile(path.join(FIXTURES, 'phototest_2.png'));
    const truncated = path.join(dir, 'truncated.png');
    await writeFile(truncated, png.subarray(0, Math.floor(png.length / 2)));
    await assert.rejects(ocr(truncated, opts), assertInputError('INPUT_CORRUPT'));

    const huge = await writeHugePngHeader(path.join(dir, 'huge.png'), 100_000, 100_000);
    await assert.rejects(ocr(huge, opts), (err: unknown) => {
      assertInputError('IMAGE_TOO_LARGE')(err);
      assert.match((err as Error).message, /100000×100000/);
      return true;
    });

    const bmp = await readFile(await convertImage(await renderText(dir, 'b.png', 'cut'), path.join(dir, 'b.bmp')));
    const cutBmp = path.join(dir, 'cut.bmp');
    await writeFile(cutBmp, bmp.subarray(0, bmp.length - 100));
    await assert.rejects(ocr(cutBmp, opts), assertInputError('INPUT_CORRUPT'));
  });
}

/** A page that takes a few seconds to recognise: long enough to cancel in the middle. */
async function longPage(name: string): Promise<string> {
  const text = paragraph('Every worker keeps its language model loaded between jobs, so only the first job pays for it.', 40);
  return renderText(dir, name, text, { pointsize: 18 });
}

test('tesseract.js cancellation: an aborted job stops, its busy worker is ended, and the next job gets a fresh one', async () => {
  const pre = new AbortController();
  pre.abort();
  const small = await renderText(dir, 'cancel-small.png', 'never read');
  const jobsBefore = ocrPoolStats()?.jobs ?? 0;
  await assert.rejects(ocr(small, { config: wasmConfig, signal: pre.signal }), { name: 'AbortError' });
  assert.equal(ocrPoolStats()?.jobs ?? 0, jobsBefore, 'nothing recognised after an abort before the start');

  // A long page (several seconds of recognition), canceled once recognition has started.
  const page = await longPage('cancel-page.png');
  const controller = new AbortController();
  await ocr(small, { config: wasmConfig }); // a worker exists, so the stats below are about this job's
  const terminatedBefore = ocrPoolStats()!.terminated;
  const job = ocr(page, {
    config: wasmConfig,
    signal: controller.signal,
    onProgress: (f, stage) => { if (stage === 'recognising text' && f > 0.12) controller.abort(); },
  });
  await assert.rejects(job, { name: 'AbortError' });
  const stats = ocrPoolStats()!;
  assert.equal(stats.terminated, terminatedBefore + 1, 'the worker busy with the canceled page was ended');
  assert.equal(stats.busy, 0);

  const { result } = await ocr(small, { config: wasmConfig });
  assert.equal(result.text, 'never read');
});

/** Child processes of this process whose command is `tesseract`, by pid. */
function tesseractChildren(): number[] {
  const pids: number[] = [];
  for (const task of readdirSync('/proc/self/task')) {
    let children = '';
    try {
      children = readFileSync(`/proc/self/task/${task}/children`, 'utf8');
    } catch {
      continue;
    }
    for (const pid of children.trim().split(/\s+/).filter(Boolean).map(Number)) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        // A killed child not yet reaped is a zombie (state Z): it no longer runs.
        if (/\(tesseract\) [^Z]/.test(stat)) pids.push(pid);
      } catch { /* gone */ }
    }
  }
  return pids;
}

test('tesseract command cancellation: the abort kills the running process, and the next job runs', { skip: process.platform !== 'linux' && 'reads /proc' }, async () => {
  const pre = new AbortController();
  pre.abort();
  const small = await renderText(dir, 'cancel-small-native.png', 'never read');
  await assert.rejects(ocr(small, { signal: pre.signal }), { name: 'AbortError' });

  const page = await longPage('cancel-page-native.png');
  const controller = new AbortController();
  let running: number[] = [];
  let watching = false;
  const job = ocr(page, {
    signal: controller.signal,
    onProgress: (_f, stage) => {
      if (stage !== 'recognising text' || watching) return;
      watching = true;
      // Abort once the command is really running (its process exists).
      const watch = setInterval(() => {
        running = tesseractChildren();
        if (running.length > 0) {
          clearInterval(watch);
          controller.abort();
        }
      }, 10);
      setTimeout(() => clearInterval(watch), 30_000).unref();
    },
  });
  await assert.rejects(job, { name: 'AbortError' });
  assert.equal(running.length, 1, 'the command was running when the job was canceled');
  for (let i = 0; i < 100 && tesseractChildren().length > 0; i++) await sleep(20);
  assert.deepEqual(tesseractChildren(), [], 'no tesseract process left behind');

  const { result } = await ocr(small);
  assert.equal(result.text, 'never read');
});
