import sharp, { type Sharp } from 'sharp';

export type EncodeFormat = 'png' | 'jpeg' | 'webp';

export const ENCODE_MIME: Record<EncodeFormat, string> = { png: 'image/png', jpeg: 'image/jpeg', webp: 'image/webp' };
export const ENCODE_EXTENSION: Record<EncodeFormat, string> = { png: 'png', jpeg: 'jpg', webp: 'webp' };

/** The largest side each encoder can write (libjpeg: 65535, libwebp: 16383, libpng: 2^31−1). */
export const ENCODE_MAX_SIDE: Record<EncodeFormat, number> = { png: 2_147_483_647, jpeg: 65_535, webp: 16_383 };

export interface RawImage {
  data: Buffer;
  width: number;
  height: number;
  channels: 3 | 4;
}

export interface EncodeOptions {
  format: EncodeFormat;
  /** JPEG/WebP quality 1..100 (default 90). PNG is lossless and ignores it. */
  quality?: number;
  /** JPEG has no alpha: transparent pixels are composited onto this colour (default white). */
  background?: { r: number; g: number; b: number };
  /** Store as greyscale (one channel, plus alpha if any). Default false. */
  greyscale?: boolean;
}

function encoder(img: RawImage, opts: EncodeOptions): Sharp {
  // Raw input is already in memory and was sized by us: the input pixel limit guards decoding of
  // untrusted files and does not apply here.
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels }, limitInputPixels: false });
  const quality = opts.quality ?? 90;
  if (opts.greyscale) s = s.toColourspace('b-w');
  switch (opts.format) {
    case 'jpeg':
      if (img.channels === 4) s = s.flatten({ background: opts.background ?? { r: 255, g: 255, b: 255 } });
      return s.jpeg({ quality, chromaSubsampling: quality >= 90 ? '4:4:4' : '4:2:0' });
    case 'webp':
      return s.webp({ quality, alphaQuality: 100 });
    case 'png':
      return s.png({ compressionLevel: 6 });
  }
}

/** Encodes 8-bit sRGB pixels (RGB or RGBA) as PNG, JPEG or WebP, in memory. */
export async function encodeImage(img: RawImage, opts: EncodeOptions): Promise<Buffer> {
  return encoder(img, opts).toBuffer();
}

/** Encodes straight to a file (large outputs never exist twice in memory). */
export async function encodeImageToFile(img: RawImage, file: string, opts: EncodeOptions): Promise<{ size: number }> {
  const info = await encoder(img, opts).toFile(file);
  return { size: info.size };
}
