import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { AppConfig } from '../../src/config/config.schema.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { sniffMime } from '../../src/media/sniff.js';
import { ocrProcessor, type OcrResult } from '../../src/processors/ocr/index.js';
import { shutdownOcrPool } from '../../src/processors/ocr/ocr.engine.js';
import { languageTable, resolveLanguages, scanTessdata, tessdataFolders } from '../../src/processors/ocr/ocr.languages.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import { json, startServer } from '../helpers/server.js';
import { renderText } from '../helpers/text-images.js';
import { characterErrorRate } from '../helpers/text-metrics.js';

// Languages beyond the packaged English and French: found in tessdata folders (Debian's
// tesseract-ocr-rus and tesseract-ocr-chi-sim, which .ci/run installs), listed by /ready and
// /v1/processors, and read by both engines (the `tesseract` command and tesseract.js).

const native = defaultConfig({ data: os.tmpdir() });
const wasm = defaultConfig({ data: os.tmpdir(), tools: { tesseract: '' } });
const ENGINES: Array<[string, AppConfig]> = [['tesseract command', native], ['tesseract.js', wasm]];
let dir: string;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ocr-lang-'));
});

after(async () => {
  await shutdownOcrPool();
  await rm(dir, { recursive: true, force: true });
});

async function ocr(file: string, lang: string, config: AppConfig): Promise<OcrResult> {
  const ctx = await createLocalContext({ config, outDir: await mkdtemp(path.join(dir, 'out-')) });
  try {
    return await ocrProcessor.run(ctx, await fileInputFromPath(file, await sniffMime(file)), { lang, psm: 3, hocr: false, tsv: false });
  } finally {
    await ctx.dispose();
  }
}

/** A tessdata folder holding the packaged English model under `mfx`, a code no other source has. */
async function tessdataWithMfx(): Promise<string> {
  const folder = path.join(dir, 'tessdata');
  await mkdir(folder, { recursive: true });
  const eng = gunzipSync(await readFile(resolveLanguages('eng', undefined, { folders: [] }).files.eng!));
  await writeFile(path.join(folder, 'mfx.traineddata'), eng);
  await writeFile(path.join(folder, 'osd.traineddata'), 'not a language');
  await writeFile(path.join(folder, 'README.txt'), 'not a model');
  return folder;
}

test('languages are found in a tessdata folder: TESSDATA_PREFIX first, osd and other files left out', async () => {
  const folder = await tessdataWithMfx();
  assert.deepEqual(scanTessdata(folder), { mfx: path.join(folder, 'mfx.traineddata') });

  const folders = tessdataFolders(undefined, { TESSDATA_PREFIX: folder });
  assert.equal(folders[0], folder);
  const table = languageTable(native, { folders });
  assert.deepEqual(table.mfx, { file: path.join(folder, 'mfx.traineddata'), source: 'tessdata' });
  assert.equal(table.osd, undefined);
  // The packaged languages stay available; a models.paths entry wins over every folder.
  assert.ok(table.eng && table.fra, JSON.stringify(table));
  const custom = defaultConfig({ data: os.tmpdir(), models: { paths: { 'tesseract-mfx': path.join(folder, 'mfx.traineddata') } } });
  assert.equal(languageTable(custom, { folders: [] }).mfx?.source, 'config');

  // Nothing found: the error names both ways to install the language.
  assert.throws(() => resolveLanguages('mfx', native, { folders: [] }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'OCR_LANG_UNAVAILABLE');
    assert.match(err.message, /tesseract-ocr-mfx or @tesseract\.js-data\/mfx/);
    return true;
  });
});

for (const [name, config] of ENGINES) {
  test(`${name}: a job in a language found only in TESSDATA_PREFIX reads its text`, async () => {
    const folder = await tessdataWithMfx();
    const saved = process.env.TESSDATA_PREFIX;
    process.env.TESSDATA_PREFIX = folder;
    try {
      const file = await renderText(dir, `mfx-${name.length}.png`, 'Found in the folder');
      const result = await ocr(file, 'mfx', config);
      assert.equal(result.text, 'Found in the folder');
      assert.equal(result.language, 'mfx');
    } finally {
      if (saved === undefined) delete process.env.TESSDATA_PREFIX;
      else process.env.TESSDATA_PREFIX = saved;
    }
  });
}

const RUSSIAN = 'Съешь же ещё этих мягких французских булок, да выпей чаю.\nЗаседание комиссии состоялось во вторник, 14 марта.\nРека поднялась на 2,3 метра и затопила поля.';
const CHINESE = '我们的图书馆每天早上八点开门，晚上九点关门。\n这本书介绍了中国古代的印刷技术和造纸方法。\n读者每次最多可以借六本书，借期为二十一天。';

// Both engines read both pages without an error (Debian's tessdata_fast rus and chi_sim, 2026-12);
// the bounds leave a few characters of margin for other fonts' rendering or data updates.

/** Chinese is written without spaces between words; Tesseract puts some between characters. */
const noSpaces = (s: string) => s.replace(/\s+/g, '');

for (const [name, config] of ENGINES) {
  test(`${name}: Russian text is read with a CER under 3 %`, async () => {
    const file = await renderText(dir, `ru-${name.length}.png`, RUSSIAN, { font: 'DejaVu-Serif', pointsize: 28 });
    const result = await ocr(file, 'rus', config);
    const cer = characterErrorRate(result.text, RUSSIAN);
    assert.ok(cer < 0.03, `CER ${cer.toFixed(4)}: ${result.text}`);
    assert.equal(result.language, 'rus');
    assert.equal(result.lineCount, 3);
    // English alone cannot read Cyrillic: the language really is what reads it.
    const eng = await ocr(file, 'eng', config);
    assert.ok(characterErrorRate(eng.text, RUSSIAN) > 0.3, `eng alone: ${eng.text}`);
  });

  test(`${name}: simplified Chinese text is read with a CER under 5 % (spaces not scored)`, async () => {
    const file = await renderText(dir, `zh-${name.length}.png`, CHINESE, { font: 'WenQuanYi-Zen-Hei', pointsize: 32 });
    const result = await ocr(file, 'chi_sim', config);
    const cer = characterErrorRate(noSpaces(result.text), noSpaces(CHINESE));
    assert.ok(cer < 0.05, `CER ${cer.toFixed(4)}: ${result.text}`);
    assert.equal(result.lineCount, 3);
    assert.ok(result.wordCount > 3 && result.confidence > 60, `${result.wordCount} words, confidence ${result.confidence}`);
  });
}

test('Chinese and English on one page with chi_sim+eng', async () => {
  const text = '我们的图书馆每天早上八点开门。\nThe library opens at 8 every morning.';
  const file = await renderText(dir, 'mixed.png', text, { font: 'WenQuanYi-Zen-Hei', pointsize: 32 });
  const result = await ocr(file, 'chi_sim+eng', native);
  assert.equal(result.language, 'chi_sim+eng');
  assert.match(result.text, /The library opens at 8 every morning\./);
  assert.ok(characterErrorRate(noSpaces(result.text), noSpaces(text)) < 0.1, result.text);
});

test('/v1/processors and /ready list the languages and the engine', async () => {
  const s = await startServer();
  try {
    const view = await json(await fetch(`${s.url}/v1/processors/ocr`));
    for (const lang of ['eng', 'fra', 'rus', 'chi_sim']) assert.ok(view.details.languages.includes(lang), JSON.stringify(view.details));
    assert.ok(!view.details.languages.includes('osd'));
    assert.match(view.details.engine, /^tesseract \d+\.\d+\.\d+$/);
    const all = await json(await fetch(`${s.url}/v1/processors`));
    assert.deepEqual(all.items.find((p: { name: string }) => p.name === 'ocr').details, view.details);

    const ready = await json(await fetch(`${s.url}/ready`));
    const check = ready.checks['processor:ocr'];
    assert.equal(check.ok, true, JSON.stringify(check));
    assert.match(check.detail, /^tesseract \d+\.\d+\.\d+; languages: .*\bchi_sim\b.*\beng\b.*\brus\b/);
  } finally {
    await s.close();
  }
});
