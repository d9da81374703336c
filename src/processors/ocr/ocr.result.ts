import type Tesseract from 'tesseract.js';

/** A box in pixels of the upright image (after EXIF rotation): left, top, right, bottom (exclusive). */
export interface OcrBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** Confidences are Tesseract's, 0..100. */
export interface OcrWord {
  text: string;
  confidence: number;
  bbox: OcrBox;
}

export interface OcrLine {
  text: string;
  confidence: number;
  bbox: OcrBox;
  words: OcrWord[];
}

/** A block of text (a column, a caption...); its paragraphs are flattened into `lines`, in reading order. */
export interface OcrBlock {
  text: string;
  confidence: number;
  bbox: OcrBox;
  lines: OcrLine[];
}

/** The JSON result of an `ocr` job (and of the seed `POST /ocr` route). */
export interface OcrResult {
  /** All recognised text: lines end with `\n`, paragraphs are separated by a blank line. */
  text: string;
  /** Mean word confidence of the page, 0..100. */
  confidence: number;
  /** Language set used, e.g. `eng` or `eng+fra`. */
  language: string;
  /** Page segmentation mode used. */
  psm: number;
  image: { width: number; height: number; format: string; dpi: number | null };
  wordCount: number;
  lineCount: number;
  blocks: OcrBlock[];
  /** Engine and version: `tesseract 5.3.0` (the installed command) or `tesseract.js 7.0.0 (Tesseract 5.1.0)`. */
  engine: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const box = (b: Tesseract.Bbox): OcrBox => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 });

/** What either engine hands over: the page text, its mean confidence, and the block tree. */
export interface EnginePage {
  text: string;
  confidence: number;
  blocks: OcrBlock[];
}

/** tesseract.js's page (blocks → paragraphs → lines → words → symbols) as Mediaflow's smaller tree. */
export function pageFromTesseractJs(page: Tesseract.Page): EnginePage {
  const blocks: OcrBlock[] = (page.blocks ?? []).map((b) => {
    const lines: OcrLine[] = b.paragraphs.flatMap((p) => p.lines.map((l) => {
      const words = l.words
        .filter((w) => w.text.trim() !== '')
        .map((w) => ({ text: w.text, confidence: round2(w.confidence), bbox: box(w.bbox) }));
      return { text: l.text.replace(/\s+$/, ''), confidence: round2(l.confidence), bbox: box(l.bbox), words };
    })).filter((l) => l.words.length > 0);
    return { text: b.text.replace(/\s+$/, ''), confidence: round2(b.confidence), bbox: box(b.bbox), lines };
  }).filter((b) => b.lines.length > 0);
  return { text: page.text, confidence: page.confidence, blocks };
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

/**
 * The `tesseract` command's TSV (level 2 block, 3 paragraph, 4 line, 5 word; left, top, width,
 * height, conf, text) as the same tree. The TSV carries confidences for words only: a line's and a
 * block's are the mean of their words', and the page's is Tesseract's own MeanTextConf (the mean of
 * the words' integer confidences), which is what tesseract.js reports.
 */
export function pageFromTsv(tsv: string, text: string): EnginePage {
  const blocks: Array<OcrBlock & { paragraphs: OcrLine[][] }> = [];
  let block: (typeof blocks)[number] | undefined;
  let para: OcrLine[] | undefined;
  let line: OcrLine | undefined;
  const wordConfs: number[] = [];
  for (const row of tsv.split('\n')) {
    const f = row.split('\t');
    const level = Number(f[0]);
    if (f.length < 12 || !(level >= 2 && level <= 5)) continue; // header, page row, blank lines
    const [left, top, width, height] = f.slice(6, 10).map(Number) as [number, number, number, number];
    const bbox = { x0: left, y0: top, x1: left + width, y1: top + height };
    if (level === 2) {
      block = { text: '', confidence: 0, bbox, lines: [], paragraphs: [] };
      blocks.push(block);
    } else if (level === 3 && block) {
      para = [];
      block.paragraphs.push(para);
    } else if (level === 4 && para) {
      line = { text: '', confidence: 0, bbox, words: [] };
      para.push(line);
    } else if (level === 5 && line) {
      const wordText = f.slice(11).join('\t');
      if (wordText.trim() === '') continue;
      const conf = Number(f[10]);
      line.words.push({ text: wordText, confidence: round2(conf), bbox });
      wordConfs.push(Math.trunc(conf));
    }
  }
  const out: OcrBlock[] = [];
  for (const b of blocks) {
    const paragraphs = b.paragraphs.map((p) => p.filter((l) => l.words.length > 0)).filter((p) => p.length > 0);
    for (const l of paragraphs.flat()) {
      l.text = l.words.map((w) => w.text).join(' ');
      l.confidence = round2(mean(l.words.map((w) => w.confidence)));
    }
    const lines = paragraphs.flat();
    if (lines.length === 0) continue;
    out.push({
      text: paragraphs.map((p) => p.map((l) => l.text).join('\n')).join('\n\n'),
      confidence: round2(mean(lines.flatMap((l) => l.words.map((w) => w.confidence)))),
      bbox: b.bbox,
      lines,
    });
  }
  const confidence = wordConfs.length ? Math.trunc(wordConfs.reduce((a, b) => a + b, 0) / wordConfs.length) : 0;
  return { text, confidence, blocks: out };
}

/** The job's result from either engine's page. */
export function toOcrResult(
  page: EnginePage,
  meta: { language: string; psm: number; image: OcrResult['image']; engine: string },
): OcrResult {
  const lineCount = page.blocks.reduce((n, b) => n + b.lines.length, 0);
  const wordCount = page.blocks.reduce((n, b) => n + b.lines.reduce((m, l) => m + l.words.length, 0), 0);
  return {
    text: page.text.replace(/\s+$/, ''),
    confidence: round2(page.confidence),
    language: meta.language,
    psm: meta.psm,
    image: meta.image,
    wordCount,
    lineCount,
    blocks: page.blocks,
    engine: meta.engine,
  };
}

/** The page `<div>` of the `tesseract` command's hOCR document, without the temporary file's path. */
export function hocrPageDiv(document: string): string {
  const body = document.match(/<body>([\s\S]*)<\/body>/)?.[1] ?? '';
  return body.replace(/^\s*\n/, '').replace(/title='image "[^"]*";/, 'title=\'image "unknown";');
}

/**
 * The hOCR page `<div>` (all tesseract.js returns; cut out of the command's document) wrapped into
 * the XHTML document the `tesseract` command writes, with the engine named: the same file from
 * either engine, and one that opens in hOCR tools (hocr-tools, browsers, PDF makers).
 */
export function hocrDocument(pageDiv: string, engine: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
    "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title></title>
  <meta http-equiv="Content-Type" content="text/html;charset=utf-8"/>
  <meta name='ocr-system' content='${engine.replace(/'/g, '')}' />
  <meta name='ocr-capabilities' content='ocr_page ocr_carea ocr_par ocr_line ocrx_word ocrp_wconf'/>
 </head>
 <body>
${pageDiv.replace(/\s+$/, '')}
 </body>
</html>
`;
}

/** The header row the `tesseract` command writes; tesseract.js returns the rows only. */
export const TSV_HEADER = 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n';
