import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
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
import { inputError } from '../helpers/assertions.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/ocr');
const config = defaultConfig({ data: os.tmpdir() });
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

test('ocr is registered and light: no engine loaded by the definition', () => {
  assert.equal(getProcessor('ocr', false), ocrProcessor);
  assert.deepEqual(ocrProcessor.policy, { concurrency: 2, timeoutMs: 120_000, attempts: 2, backoffMs: 1000, resource: 'cpu' });
  assert.ok(ocrProcessor.input.kind === 'file' && ocrProcessor.input.accept.includes('image/png'));
});

test('recognises rendered words, with boxes inside the image in reading order, and writes text.txt', async () => {
  const file = await renderText(dir, 'two-lines.png', 'The quick brown fox\njumps over the lazy dog 1234');
  const progress: number[] = [];
  const { result, outDir, outputs } = await ocr(file, { onProgress: (f) => progress.push(f) });

  for (const w of ['The', 'quick', 'brown', 'fox', 'jumps', 'over', 'the', 'lazy', 'dog', '1234']) {
    assert.match(result.text, new RegExp(`\\b${w}\\b`), `missing "${w}" in ${JSON.stringify(result.text)}`);
  }
  assert.equal(result.language, 'eng');
  assert.equal(result.psm, 3);
  assert.ok(result.confidence > 80 && result.confidence <= 100, `confidence ${result.confidence}`);
  assert.equal(result.lineCount, 2);
  assert.equal(result.wordCount, 10);
  assert.match(result.engine, /^tesseract\.js 7\.\d+\.\d+ \(Tesseract 5\.\d+\.\d+\)$/);

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

test('hocr and tsv outputs describe the same words and boxes', async () => {
  const file = await renderText(dir, 'hocr.png', 'Mediaflow reads text');
  const { result, outDir, outputs } = await ocr(file, { params: { hocr: true, tsv: true } });
  assert.deepEqual(outputs, ['text.hocr', 'text.tsv', 'text.txt']);

  const hocr = await readFile(path.join(outDir, 'text.hocr'), 'utf8');
  assert.match(hocr, /^<\?xml version="1.0" encoding="UTF-8"\?>/);
  assert.match(hocr, /<meta name='ocr-system' content='tesseract\.js /);
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

// Measured CERs (tesseract.js 7, @tesseract.js-data/eng 4.0.0_best_int, psm 3) are in the comments;
// each bound leaves a margin of a few characters for engine or data updates.
const FIXTURE_BOUNDS: Record<string, number> = {
  'chap4_summary.png': 0.02, // measured 0.000
  'eurotext.png': 0.06, // measured 0.019 (accents and «» outside the English model)
  'phototest_2.png': 0.02, // measured 0.000
  'quick_start_watson_studio.jpg': 0.03, // measured 0.002
  'text_with_numbers.png': 0.03, // measured 0.007
};

test('the five fixtures reach their character error rates, two workers sharing the queue', async () => {
  const names = Object.keys(FIXTURE_BOUNDS);
  const results = await Promise.all(names.map(async (name) => {
    const { result } = await ocr(path.join(FIXTURES, name));
    const gt = await readFile(path.join(FIXTURES, name.replace(/\.\w+$/, '.gt.txt')), 'utf8');
    return { name, cer: characterErrorRate(result.text, gt) };
  }));
  for (const { name, cer } of results) {
    assert.ok(cer < FIXTURE_BOUNDS[name]!, `${name}: CER ${cer.toFixed(4)} ≥ ${FIXTURE_BOUNDS[name]}`);
  }
  const stats = ocrPoolStats()!;
  assert.ok(stats.workers <= 2 && stats.size === 2, `pool bounded by the concurrency: ${JSON.stringify(stats)}`);
});

test('workers are pooled: a second job reuses the worker instead of creating one', async () => {
  const file = await renderText(dir, 'reuse.png', 'Reuse the worker');
  await ocr(file);
  const before = ocrPoolStats()!;
  const { result } = await ocr(file);
  const afterStats = ocrPoolStats()!;
  assert.match(result.text, /Reuse the worker/);
  assert.equal(afterStats.created, before.created, 'no worker created for the second job');
  assert.equal(afterStats.jobs, before.jobs + 1);
  assert.equal(afterStats.busy, 0);
  assert.ok(afterStats.keys['eng|psm3']! >= 1);
});

test('psm 7 reads a single line; another key gets its own worker within the bound', async () => {
  const file = await renderText(dir, 'line.png', 'single line mode 42');
  const { result } = await ocr(file, { params: { psm: 7 } });
  assert.equal(result.text, 'single line mode 42');
  assert.equal(result.psm, 7);
  const stats = ocrPoolStats()!;
  assert.ok(stats.keys['eng|psm7'] === 1 && stats.workers <= 2, JSON.stringify(stats));
});

test('eng+fra loads both data packages and reads French accents better than eng alone', async () => {
  const text = 'Le cœur déçu mais l’âme plutôt naïve\nVoilà où était le garçon égaré';
  const file = await renderText(dir, 'fr.png', text);
  const eng = (await ocr(file)).result;
  const both = (await ocr(file, { params: { lang: 'eng+fra' } })).result;
  assert.equal(both.language, 'eng+fra');
  const cerEng = characterErrorRate(eng.text, text);
  const cerBoth = characterErrorRate(both.text, text);
  assert.ok(cerBoth < 0.05, `eng+fra CER ${cerBoth.toFixed(3)}: ${both.text}`);
  assert.ok(cerBoth < cerEng, `eng+fra (${cerBoth.toFixed(3)}) should beat eng (${cerEng.toFixed(3)})`);
});

test('models.paths["tesseract-eng"] swaps the data file: a plain .traineddata of another name loads in its own worker', async () => {
  const plain = path.join(dir, 'my-english-model.traineddata');
  await writeFile(plain, gunzipSync(await readFile(resolveLanguages('eng').files.eng!)));
  const custom = defaultConfig({ data: os.tmpdir(), models: { paths: { 'tesseract-eng': plain } } });
  const file = await renderText(dir, 'override.png', 'Custom model 77');
  const before = ocrPoolStats()!;
  const { result } = await ocr(file, { config: custom });
  assert.equal(result.text, 'Custom model 77');
  assert.equal(ocrPoolStats()!.created, before.created + 1, 'a worker of its own, not one loaded with the package data');

  const missing = defaultConfig({ data: os.tmpdir(), models: { paths: { 'tesseract-eng': path.join(dir, 'nope.traineddata') } } });
  await assert.rejects(ocr(file, { config: missing }), (err: unknown) => isMediaflowError(err) && err.code === 'MODEL_MISSING' && /nope\.traineddata/.test(err.message));
});

test('a language whose data package is not installed gives OCR_LANG_UNAVAILABLE (400) naming the package', async () => {
  const file = await renderText(dir, 'lang.png', 'hello');
  const before = ocrPoolStats()!;
  await assert.rejects(ocr(file, { params: { lang: 'eng+xyz' } }), (err: unknown) => {
    inputError('OCR_LANG_UNAVAILABLE')(err);
    const e = err as InputError;
    assert.equal(e.status, 400);
    assert.match(e.message, /@tesseract\.js-data\/xyz/);
    assert.deepEqual(e.details?.missing, ['xyz']);
    assert.ok((e.details?.installed as string[]).includes('eng'));
    return true;
  });
  await assert.rejects(ocr(file, { params: { lang: '../../etc' } }), inputError('PARAMS_INVALID'));
  assert.equal(ocrPoolStats()!.created, before.created, 'no worker started for a refused language');
});

test('every accepted format is read: JPEG with EXIF rotation, WebP, TIFF, BMP, GIF, transparent PNG', async () => {
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
    const { result } = await ocr(file);
    assert.equal(result.text, 'Formats 2024', `${path.basename(file)}: ${JSON.stringify(result.text)}`);
    // Upright frame: wider than tall even for the EXIF-rotated JPEG.
    assert.ok(result.image.width > result.image.height, `${path.basename(file)} ${result.image.width}x${result.image.height}`);
  }
});

test('refuses a text file, a truncated PNG, a 100000×100000 header and a truncated BMP with clear InputErrors', async () => {
  const txt = path.join(dir, 'notes.txt');
  await writeFile(txt, 'this is not an image\n'.repeat(20));
  await assert.rejects(ocr(txt), inputError('INPUT_UNSUPPORTED_TYPE'));
  // The same bytes labelled as a PNG by a careless caller still fail cleanly.
  await assert.rejects(ocr(txt, { mime: 'image/png' }), (err: unknown) => isMediaflowError(err) && ['INPUT_CORRUPT', 'INPUT_UNSUPPORTED_TYPE'].includes(err.code));

  const png = await readFile(path.join(FIXTURES, 'phototest_2.png'));
  const truncated = path.join(dir, 'truncated.png');
  await writeFile(truncated, png.subarray(0, Math.floor(png.length / 2)));
  await assert.rejects(ocr(truncated), inputError('INPUT_CORRUPT'));

  const huge = await writeHugePngHeader(path.join(dir, 'huge.png'), 100_000, 100_000);
  await assert.rejects(ocr(huge), (err: unknown) => {
    inputError('IMAGE_TOO_LARGE')(err);
    assert.match((err as Error).message, /100000×100000/);
    return true;
  });

  const bmp = await readFile(await convertImage(await renderText(dir, 'b.png', 'cut'), path.join(dir, 'b.bmp')));
  const cutBmp = path.join(dir, 'cut.bmp');
  await writeFile(cutBmp, bmp.subarray(0, bmp.length - 100));
  await assert.rejects(ocr(cutBmp), inputError('INPUT_CORRUPT'));
});

test('cancellation: an aborted job stops, its busy worker is ended, and the next job gets a fresh one', async () => {
  const pre = new AbortController();
  pre.abort();
  const small = await renderText(dir, 'cancel-small.png', 'never read');
  const jobsBefore = ocrPoolStats()!.jobs;
  await assert.rejects(ocr(small, { signal: pre.signal }), { name: 'AbortError' });
  assert.equal(ocrPoolStats()!.jobs, jobsBefore, 'nothing recognised after an abort before the start');

  // A long page (several seconds of recognition), canceled once recognition has started.
  const text = paragraph('Every worker keeps its language model loaded between jobs, so only the first job pays for it.', 40);
  const page = await renderText(dir, 'cancel-page.png', text, { pointsize: 18 });
  const controller = new AbortController();
  const terminatedBefore = ocrPoolStats()!.terminated;
  const job = ocr(page, {
    signal: controller.signal,
    onProgress: (f, stage) => { if (stage === 'recognising text' && f > 0.12) controller.abort(); },
  });
  await assert.rejects(job, { name: 'AbortError' });
  const stats = ocrPoolStats()!;
  assert.equal(stats.terminated, terminatedBefore + 1, 'the worker busy with the canceled page was ended');
  assert.equal(stats.busy, 0);

  const { result } = await ocr(small);
  assert.equal(result.text, 'never read');
});
