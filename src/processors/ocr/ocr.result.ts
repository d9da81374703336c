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
  /** Engine and version, e.g. `tesseract.js 7.0.0 (Tesseract 5.1.0)`. */
  engine: string;
}

const round2 = (n: number) => Math.round(n * 100) / 100;
const box = (b: Tesseract.Bbox): OcrBox => ({ x0: b.x0, y0: b.y0, x1: b.x1, y1: b.y1 });

/** Maps tesseract.js's page (blocks → paragraphs → lines → words → symbols) to Mediaflow's smaller tree. */
export function toOcrResult(
  page: Tesseract.Page,
  meta: { language: string; psm: number; image: OcrResult['image']; engine: string },
): OcrResult {
  let wordCount = 0;
  let lineCount = 0;
  const blocks: OcrBlock[] = (page.blocks ?? []).map((b) => {
    const lines: OcrLine[] = b.paragraphs.flatMap((p) => p.lines.map((l) => {
      const words = l.words
        .filter((w) => w.text.trim() !== '')
        .map((w) => ({ text: w.text, confidence: round2(w.confidence), bbox: box(w.bbox) }));
      wordCount += words.length;
      return { text: l.text.replace(/\s+$/, ''), confidence: round2(l.confidence), bbox: box(l.bbox), words };
    })).filter((l) => l.words.length > 0);
    lineCount += lines.length;
    return { text: b.text.replace(/\s+$/, ''), confidence: round2(b.confidence), bbox: box(b.bbox), lines };
  }).filter((b) => b.lines.length > 0);
  return {
    text: page.text.replace(/\s+$/, ''),
    confidence: round2(page.confidence),
    language: meta.language,
    psm: meta.psm,
    image: meta.image,
    wordCount,
    lineCount,
    blocks,
    engine: meta.engine,
  };
}

/**
 * tesseract.js returns the hOCR page `<div>` only; this wraps it into the XHTML document the
 * `tesseract` command writes, so the file opens in hOCR tools (hocr-tools, browsers, PDF makers).
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
