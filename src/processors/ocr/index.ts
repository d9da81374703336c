import { Type } from 'typebox';
import { validateImageInput } from '../../media/image/image.validate.js';
import { InputError } from '../../core/errors.js';
import { defineProcessor } from '../../core/processor.types.js';
import { OCR_IMAGE_TYPES } from './ocr.image.js';
import { chooseEngine } from './ocr.engine-choice.js';
import { availableLanguages, resolveLanguages } from './ocr.languages.js';
import type { OcrResult } from './ocr.result.js';

export type { OcrBlock, OcrBox, OcrLine, OcrResult, OcrWord } from './ocr.result.js';

const DEFAULT_CONCURRENCY = 2;

export const OcrParamsSchema = Type.Object({
  lang: Type.String({
    default: 'eng',
    pattern: '^[a-z][a-z0-9_]*(\\+[a-z][a-z0-9_]*)*$',
    maxLength: 100,
    description: 'Tesseract language code(s), several joined by "+" (`eng+fra`, `rus`, `chi_sim`). The installed ones are listed under `details.languages` of this processor: `eng` and `fra` ship with Mediaflow; a tessdata folder adds more (`apt-get install tesseract-ocr-rus tesseract-ocr-chi-sim`).',
  }),
  psm: Type.Integer({
    default: 3,
    minimum: 3,
    maximum: 13,
    description: 'Page segmentation mode, as for the `tesseract` command: 3 automatic (default), 4 a single column, 6 a single block, 7 a single line, 8 a single word, 11 sparse text, 13 a raw line. (0–2 need orientation data or skip recognition.)',
  }),
  hocr: Type.Boolean({ default: false, description: 'Also write `text.hocr` (hOCR: XHTML with word boxes).' }),
  tsv: Type.Boolean({ default: false, description: 'Also write `text.tsv` (Tesseract\'s tab-separated word table).' }),
}, { additionalProperties: false });

let engineLoaded = false;

/**
 * `ocr`: image → text, mean confidence, blocks → lines → words with boxes; `text.txt` always,
 * `text.hocr` and `text.tsv` on request. Engine: the installed `tesseract` command (one process per
 * page) when there is one, else tesseract.js (Tesseract compiled to WebAssembly, workers pooled per
 * process); language data from a tessdata folder or the `@tesseract.js-data/<lang>` packages. Fully
 * offline either way.
 */
export const ocrProcessor = defineProcessor({
  name: 'ocr',
  // 2: the tesseract command and tessdata folders' models (the results of a page may differ from 1's).
  version: '2',
  title: 'Text recognition (OCR)',
  description: 'Finds the printed text in an image: the text, its mean confidence, and blocks, lines and words with bounding boxes and confidences. Optional hOCR and TSV files.',
  input: { kind: 'file', accept: OCR_IMAGE_TYPES },
  params: OcrParamsSchema,
  // Tesseract runs one page on one core: two jobs use both cores of a small machine.
  policy: { concurrency: DEFAULT_CONCURRENCY, timeoutMs: 120_000, attempts: 2, backoffMs: 1000, resource: 'cpu' },
  notes: 'Tesseract (Apache-2.0): the installed command, or tesseract.js (Apache-2.0); language data from the tessdata folder or @tesseract.js-data (Apache-2.0, from tesseract-ocr/tessdata).',
  shutdown: () => shutdownOcr(),
  async check(config) {
    const engine = await chooseEngine(config);
    const langs = availableLanguages(config, { folders: engine.folders });
    const using = engine.native ? engine.label : `${engine.label} (${engine.reason})`;
    return langs.includes('eng')
      ? { ok: true, detail: `${using}; languages: ${langs.join(', ')}` }
      : { ok: false, detail: `${using}; no English data: the @tesseract.js-data/eng package is missing` };
  },
  async details(config) {
    const engine = await chooseEngine(config);
    return { engine: engine.label, languages: availableLanguages(config, { folders: engine.folders }) };
  },
  // Header, pixel limit and truncation, checked at submit so bad input gets its 4xx at once.
  // Languages too: a missing traineddata file is the client's 400, not a failed job.
  async validate(input, config, params) {
    const engine = await chooseEngine(config);
    resolveLanguages(params.lang, config, { folders: engine.folders });
    await validateImageInput(input, config);
  },
  async run(ctx, input, params): Promise<OcrResult> {
    if (input.kind !== 'file') throw new InputError('INPUT_MISSING', 'OCR needs an image file');
    const { runOcr } = await import('./ocr.engine.js');
    engineLoaded = true;
    return runOcr(ctx, input, params, ctx.config.concurrency.ocr ?? DEFAULT_CONCURRENCY);
  },
});

/**
 * Ends the OCR worker threads of this process, if any were started. For the worker process's
 * shutdown sequence; does not load the engine when no OCR job ran.
 */
export async function shutdownOcr(): Promise<void> {
  if (!engineLoaded) return;
  const { shutdownOcrPool } = await import('./ocr.engine.js');
  await shutdownOcrPool();
}
