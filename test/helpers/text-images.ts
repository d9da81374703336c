import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';

/**
 * Images of text for OCR tests and benchmarks, made on the spot with ImageMagick's `convert`
 * (DejaVu fonts), plus hand-made broken files.
 */

const run = promisify(execFile);

export interface RenderOptions {
  /** Font size in points at 72 dpi, i.e. pixels. Default 32. */
  pointsize?: number;
  /** ImageMagick font name. Default `DejaVu-Sans`. */
  font?: string;
  /** Wrap the text into this many pixels of width (`caption:`); default: one `label:` as wide as the text. */
  width?: number;
  /** White margin around the text, in pixels. Default 20. */
  border?: number;
  /** Extra `convert` arguments applied after rendering (e.g. `['-rotate', '-90']`). */
  post?: string[];
}

/** Renders `text` (`\n` for line breaks) black on white into `dir/name`; the extension picks the format. */
export async function renderText(dir: string, name: string, text: string, opts: RenderOptions = {}): Promise<string> {
  const out = path.join(dir, name);
  // ImageMagick expands `%` escapes and `\n` in label text; `%` is doubled to keep it literal.
  const body = text.replace(/%/g, '%%');
  // One `label:` per line, stacked: ImageMagick 6 refuses a single multi-line label past about a
  // dozen lines ("width or height exceeds limit").
  const source = opts.width
    ? ['-size', `${opts.width}x`, `caption:${body}`]
    : [...body.split('\n').map((line) => `label:${line || ' '}`), '-append'];
  await run('convert', [
    '-background', 'white', '-fill', 'black', '-font', opts.font ?? 'DejaVu-Sans', '-pointsize', String(opts.pointsize ?? 32),
    ...source,
    '-bordercolor', 'white', '-border', String(opts.border ?? 20),
    // Drop the page geometry `-append` leaves behind, which some readers take as an offset.
    '+repage',
    ...(opts.post ?? []),
    out,
  ]);
  return out;
}

/** Converts an image with ImageMagick (`convert src [args] dest`), for format and EXIF variants. */
export async function convertImage(src: string, dest: string, args: string[] = []): Promise<string> {
  await run('convert', [src, ...args, dest]);
  return dest;
}

/**
 * Writes `src` as a JPEG whose pixels are stored turned a quarter left, with EXIF orientation 6
 * ("rotate 90° clockwise to display"): upright only for a reader that applies the orientation.
 * (sharp, because ImageMagick writes no orientation tag into a file that has no EXIF block.)
 */
export async function writeExifRotatedJpeg(src: string, dest: string): Promise<string> {
  const { default: sharp } = await import('sharp');
  await sharp(src).rotate(270).withMetadata({ orientation: 6 }).jpeg({ quality: 92 }).toFile(dest);
  return dest;
}

/** Text of `lines` lines of at most `width` characters, cut at spaces, from `sentence` repeated. */
export function paragraph(sentence: string, lines: number, width = 90): string {
  const words = sentence.split(/\s+/).filter(Boolean);
  const out: string[] = [];
  let cur = '';
  for (let i = 0; out.length < lines; i++) {
    const w = words[i % words.length]!;
    if (cur && cur.length + 1 + w.length > width) {
      out.push(cur);
      cur = w;
    } else {
      cur = cur ? `${cur} ${w}` : w;
    }
  }
  return out.join('\n');
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/**
 * A small PNG whose header claims `width`×`height` (8-bit grey) with one tiny compressed row behind
 * it: a decompression-bomb shape that must be refused from the header alone.
 */
export async function writeHugePngHeader(file: string, width: number, height: number): Promise<string> {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // colour type: grey
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.alloc(1 + 64))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  await writeFile(file, png);
  return file;
}
