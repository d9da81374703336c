import { open, readFile } from 'node:fs/promises';
import { InputError } from '../../core/errors.js';

/** Image types the OCR processor reads (by content). Animated GIF/WebP and multi-page TIFF: the first frame. */
export const OCR_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/tiff', 'image/bmp', 'image/gif', 'image/avif'] as const;

/** Tesseract's own plausibility bounds for a resolution (kMinCredibleResolution..kMaxCredibleResolution). */
const MIN_DPI = 70;
const MAX_DPI = 2400;

export interface PreparedImage {
  /**
   * The bytes handed to the engine: a binary PGM (grey) or PPM (colour) of the upright image, or,
   * for BMP (which sharp cannot read), the original file, which tesseract.js decodes itself.
   */
  data: Buffer;
  /** Size of the upright image, in pixels: word boxes are in this frame. */
  width: number;
  height: number;
  /** Resolution stored in the file, when it is one Tesseract would trust (70..2400 dpi). */
  dpi?: number;
  /** Source format as detected (`png`, `jpeg`, `bmp`, ...). */
  format: string;
}

function tooLarge(width: number, height: number, maxPixels: number): InputError {
  return new InputError('IMAGE_TOO_LARGE', `The image is ${width}×${height} (${width * height} pixels); the limit is ${maxPixels} pixels`, {
    details: { width, height, pixels: width * height, maxPixels },
  });
}

function credibleDpi(dpi: number | undefined): number | undefined {
  if (dpi === undefined || !Number.isFinite(dpi)) return undefined;
  const r = Math.round(dpi);
  return r >= MIN_DPI && r <= MAX_DPI ? r : undefined;
}

/**
 * The resolution a file really declares. sharp reports 72 for files that declare none or only an
 * aspect ratio (JFIF/pHYs unit 0), where Tesseract (through Leptonica) sees 0 and estimates the
 * resolution from the text itself. A bare 72 is therefore taken as "not declared", which keeps the
 * results equal to the `tesseract` command's on the same file.
 */
function declaredDpi(density: number | undefined, unit: string | undefined): number | undefined {
  if (density === undefined || (!unit && Math.round(density) === 72)) return undefined;
  return credibleDpi(density);
}

/**
 * Checks the image against the pixel limit from its header alone (before any pixel is decoded), then
 * decodes it once with sharp: EXIF orientation applied, transparency flattened onto white (text drawn
 * on a transparent background would otherwise become black on black), 8-bit.
 * Errors: INPUT_UNSUPPORTED_TYPE, IMAGE_TOO_LARGE, INPUT_CORRUPT (truncated or damaged data).
 *
 * Why decode here and hand over raw PGM/PPM: one decoder (sharp) for every format, with EXIF
 * orientation, transparency, 16-bit and CMYK handled the same way as in the other processors, and
 * nothing left for either engine to decode (the `tesseract` command reads PGM/PPM natively). The
 * benchmark measured the same CPU time and the same error rate as passing the original file to
 * tesseract.js, and the command gives the same text on it as on the original. Colour stays colour (PPM),
 * not luminance: Tesseract thresholds colour pages its own way, and a grey conversion first cost
 * characters on a fixture. Grey files go as PGM, a third of the bytes.
 */
export async function prepareImage(file: string, mime: string, maxPixels: number): Promise<PreparedImage> {
  if (!(OCR_IMAGE_TYPES as readonly string[]).includes(mime)) {
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `OCR reads PNG, JPEG, WebP, TIFF, BMP, GIF and AVIF images; this input is ${mime}`);
  }
  if (mime === 'image/bmp') return prepareBmp(file, maxPixels);

  // The shared safe opener: header probed against the pixel limit before any decoding, EXIF
  // orientation applied, first frame only, truncated data refused.
  const { openImage, imageReadError } = await import('../../media/image/index.js');
  const { probe, pipeline } = await openImage(file, { maxPixels });
  try {
    const meta = await pipeline.metadata();
    const grey = probe.channels <= 2;
    pipeline.flatten({ background: '#ffffff' });
    if (grey) pipeline.greyscale();
    const { data, info } = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    const want = grey ? 1 : 3;
    if (info.channels !== want) throw new Error(`expected ${want} channels, got ${info.channels}`);
    const header = Buffer.from(`${grey ? 'P5' : 'P6'}\n${info.width} ${info.height}\n255\n`, 'latin1');
    return {
      data: Buffer.concat([header, data]),
      width: info.width,
      height: info.height,
      dpi: declaredDpi(meta.density, meta.resolutionUnit),
      format: probe.format,
    };
  } catch (err) {
    throw imageReadError(err);
  }
}

/**
 * BMP: sharp's libvips has no BMP loader, so the header is checked here (hand-written: the layout is
 * fixed and tiny, not worth a dependency) and the file goes to tesseract.js, which decodes BMP itself.
 * The header tells how many bytes the pixels need, so a truncated file is caught before the engine
 * sees it. Uncompressed, bit-field and RLE BMPs are read (the ones bmp-js, tesseract.js's decoder, knows).
 */
async function prepareBmp(file: string, maxPixels: number): Promise<PreparedImage> {
  const fh = await open(file, 'r');
  let header: Buffer;
  let fileSize: number;
  try {
    fileSize = (await fh.stat()).size;
    header = Buffer.alloc(54);
    const { bytesRead } = await fh.read(header, 0, 54, 0);
    header = header.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
  if (header.length < 26 || header.toString('latin1', 0, 2) !== 'BM') throw new InputError('INPUT_CORRUPT', 'The BMP header is incomplete');
  const bmpSize = header.readUInt32LE(2); // 0 when the writer left it out
  const dataOffset = header.readUInt32LE(10);
  const dibSize = header.readUInt32LE(14);
  let width: number;
  let height: number;
  let bpp: number;
  let compression = 0;
  let imageSize = 0;
  let dpi: number | undefined;
  if (dibSize === 12) {
    // OS/2 BITMAPCOREHEADER: 16-bit sizes.
    width = header.readUInt16LE(18);
    height = header.readUInt16LE(20);
    bpp = header.readUInt16LE(24);
  } else if (dibSize >= 40 && header.length >= 54) {
    width = header.readInt32LE(18);
    height = Math.abs(header.readInt32LE(22)); // negative: rows stored top-down
    bpp = header.readUInt16LE(28);
    compression = header.readUInt32LE(30);
    imageSize = header.readUInt32LE(34);
    const ppm = header.readInt32LE(42); // vertical pixels per metre
    dpi = credibleDpi(ppm * 0.0254);
  } else {
    throw new InputError('INPUT_CORRUPT', `Unknown BMP header size ${dibSize}`);
  }
  if (width <= 0 || height <= 0 || ![1, 4, 8, 16, 24, 32].includes(bpp)) {
    throw new InputError('INPUT_CORRUPT', `The BMP header is not valid (${width}×${height}, ${bpp} bits per pixel)`);
  }
  if (width * height > maxPixels) throw tooLarge(width, height, maxPixels);
  if (bmpSize > fileSize) {
    throw new InputError('INPUT_CORRUPT', `The BMP file is truncated: its header says ${bmpSize} bytes, the file has ${fileSize}`);
  }
  // Uncompressed and bit-field BMPs: the rows need an exact number of bytes. RLE4/RLE8: the header
  // gives the compressed size (when the writer filled it in).
  const pixelBytes = compression === 0 || compression === 3 ? Math.floor((bpp * width + 31) / 32) * 4 * height
    : compression === 1 || compression === 2 ? imageSize : undefined;
  if (pixelBytes === undefined) {
    throw new InputError('INPUT_UNSUPPORTED_TYPE', `BMP compression ${compression} (JPEG/PNG inside BMP) is not supported; convert the image to PNG`);
  }
  if (dataOffset + pixelBytes > fileSize) {
    throw new InputError('INPUT_CORRUPT', `The BMP file is truncated: its pixels need ${dataOffset + pixelBytes} bytes, the file has ${fileSize}`);
  }
  return { data: await readFile(file), width, height, dpi, format: 'bmp' };
}
