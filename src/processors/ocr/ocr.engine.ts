import { InputError, MediaflowError, isMediaflowError } from '../../core/errors.js';
import type { FileInput, ProcessorContext } from '../../core/processor.types.js';
import type Tesseract from 'tesseract.js';
import { prepareImage, type PreparedImage } from './ocr.image.js';
import { chooseEngine, engineLabel } from './ocr.engine-choice.js';
import { resolveLanguages, type ResolvedLanguages } from './ocr.languages.js';
import { recognizeNative } from './ocr.native-run.js';
import type { NativeTesseract } from './ocr.native.js';
import { OcrPool, type OcrPoolStats } from './ocr.pool.js';
import { TSV_HEADER, hocrDocument, hocrPageDiv, pageFromTesseractJs, pageFromTsv, toOcrResult, type EnginePage, type OcrResult } from './ocr.result.js';

/**
 * The OCR job itself: loaded by `ocr/index.ts` with a dynamic import, so only processes that run OCR
 * jobs load sharp's decoder and tesseract.js.
 *
 * Two engines, one result: the installed `tesseract` command when there is one (config
 * `tools.tesseract`; one process per page), else tesseract.js (the same Tesseract in WebAssembly, in
 * pooled worker threads, nothing to install). Both read the same language files, give the same
 * result tree and write the same text/hOCR/TSV outputs.
 */

export interface OcrParams {
  lang: string;
  psm: number;
  hocr: boolean;
  tsv: boolean;
}

let pool: OcrPool | undefined;

/** The process's one pool, created on first use and sized by the processor's concurrency. */
export function ocrPool(size: number): OcrPool {
  if (!pool) {
    pool = new OcrPool({ size });
    // Idle workers do not hold the process open; this ends them cleanly when it winds down.
    process.once('beforeExit', () => { void pool?.shutdown(); });
  } else if (pool.stats().size !== size) {
    pool.resize(size);
  }
  return pool;
}

/** Counters of the process's pool (workers created, reused, terminated), or undefined before the first job. */
export function ocrPoolStats(): OcrPoolStats | undefined {
  return pool?.stats();
}

/** Terminates the pool's workers (called by the worker process on shutdown, and by tests). */
export async function shutdownOcrPool(): Promise<void> {
  await pool?.shutdown();
}

export async function runOcr(ctx: ProcessorContext, input: FileInput, params: OcrParams, concurrency: number): Promise<OcrResult> {
  ctx.signal.throwIfAborted();
  // The schema already limits psm; checked again because 0–2 would start a worker that cannot work
  // (orientation data missing, or no recognition at all).
  if (!Number.isInteger(params.psm) || params.psm < 3 || params.psm > 13) {
    throw new InputError('PARAMS_INVALID', `psm must be an integer from 3 to 13; got ${JSON.stringify(params.psm)}`);
  }
  const engine = await chooseEngine(ctx.config);
  const langs = resolveLanguages(params.lang, ctx.config, { folders: engine.folders });
  ctx.progress(0.02, 'reading image');
  const image = await prepareImage(input.path, input.mime, ctx.config.limits.maxImagePixels);
  ctx.signal.throwIfAborted();
  ctx.progress(0.1, 'recognising text');

  // BMP is the one format handed over undecoded (sharp has no BMP reader), and the command's
  // Leptonica refuses compressed (RLE) BMPs, which tesseract.js's decoder reads: BMP goes there.
  const page = engine.native && image.format !== 'bmp'
    ? await recognizeWithCommand(ctx, engine.native, image, langs, params)
    : await recognizeWithWasm(ctx, image, langs, params, concurrency);
  // Tesseract cannot be interrupted inside a page; a cancel that arrived as it finished lands here.
  ctx.signal.throwIfAborted();

  const result = toOcrResult(page.page, {
    language: langs.key,
    psm: params.psm,
    image: { width: image.width, height: image.height, format: image.format, dpi: image.dpi ?? null },
    engine: page.engine,
  });

  ctx.progress(0.96, 'writing outputs');
  await ctx.output('text.txt', Buffer.from(result.text ? `${result.text}\n` : '', 'utf8'), 'text/plain; charset=utf-8');
  if (params.hocr && page.hocrDiv != null) {
    await ctx.output('text.hocr', Buffer.from(hocrDocument(page.hocrDiv, page.engine), 'utf8'), 'text/html; charset=utf-8');
  }
  if (params.tsv && page.tsvRows != null) {
    await ctx.output('text.tsv', Buffer.from(TSV_HEADER + page.tsvRows, 'utf8'), 'text/tab-separated-values; charset=utf-8');
  }
  ctx.progress(1, 'done');
  return result;
}

interface RecognisedPage {
  page: EnginePage;
  engine: string;
  /** The hOCR page `<div>`, when asked for. */
  hocrDiv?: string;
  /** TSV rows without the header, when asked for. */
  tsvRows?: string;
}

async function recognizeWithCommand(ctx: ProcessorContext, tool: NativeTesseract, image: PreparedImage, langs: ResolvedLanguages, params: OcrParams): Promise<RecognisedPage> {
  const out = await recognizeNative(tool, image.data, {
    langs,
    psm: params.psm,
    dpi: image.dpi,
    hocr: params.hocr,
    tmpdir: ctx.tmpdir,
    signal: ctx.signal,
  });
  const rows = out.tsv.startsWith('level\t') ? out.tsv.slice(out.tsv.indexOf('\n') + 1) : out.tsv;
  return {
    page: pageFromTsv(out.tsv, out.text),
    engine: `tesseract ${tool.version}`,
    hocrDiv: out.hocr != null ? hocrPageDiv(out.hocr) : undefined,
    tsvRows: rows,
  };
}

async function recognizeWithWasm(ctx: ProcessorContext, image: PreparedImage, langs: ResolvedLanguages, params: OcrParams, concurrency: number): Promise<RecognisedPage> {
  let page: Tesseract.Page;
  try {
    page = await ocrPool(concurrency).recognize({ langs, psm: params.psm }, image.data, {
      // A PGM/PPM carries no resolution; pass the one the file declares, as the `tesseract` command would
      // read it. Without one Tesseract estimates it from the text height.
      params: image.dpi ? { user_defined_dpi: String(image.dpi) } : {},
      output: { text: true, blocks: true, hocr: params.hocr, tsv: params.tsv },
      signal: ctx.signal,
      onProgress: (f) => ctx.progress(0.1 + 0.85 * f, 'recognising text'),
    });
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (isMediaflowError(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    if (/Error attempting to read image/i.test(message)) {
      throw new InputError('INPUT_CORRUPT', 'The OCR engine could not read the image', { cause: err });
    }
    throw new MediaflowError('INTERNAL', `OCR failed: ${message}`, { cause: err });
  }
  return {
    page: pageFromTesseractJs(page),
    engine: engineLabel(page.version),
    hocrDiv: page.hocr ?? undefined,
    tsvRows: page.tsv ?? undefined,
  };
}
