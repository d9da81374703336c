/**
 * Image I/O for every processor that reads pictures (upscale, OCR, segmentation): probe the
 * header and refuse oversized or unsupported files before decoding, then decode safely to upright
 * 8-bit sRGB; encode results as PNG, JPEG or WebP. Built on sharp (libvips). Import
 * `image.formats.js` alone where only the list of formats is needed: this index loads sharp.
 */
export { IMAGE_FORMATS, IMAGE_MIME_TYPES, type ImageFormat } from './image.formats.js';
export { imageReadError, probeImage, type ImageLimits, type ImageProbe } from './image.probe.js';
export { decodeImage, openImage, type DecodeOptions, type DecodedImage } from './image.decode.js';
export { ENCODE_EXTENSION, ENCODE_MAX_SIDE, ENCODE_MIME, encodeImage, encodeImageToFile, type EncodeFormat, type EncodeOptions, type RawImage } from './image.encode.js';
