/**
 * Image I/O for every processor that reads pictures (upscale, OCR, segmentation): probe the
 * header and refuse oversized or unsupported files before decoding, then decode safely to upright
 * 8-bit sRGB; encode results as PNG, JPEG or WebP. Built on sharp (libvips).
 */
export { IMAGE_FORMATS, IMAGE_MIME_TYPES, imageReadError, probeImage, type ImageFormat, type ImageLimits, type ImageProbe } from './image.probe.js';
export { decodeImage, openImage, type DecodeOptions, type DecodedImage } from './image.decode.js';
export { ENCODE_EXTENSION, ENCODE_MAX_SIDE, ENCODE_MIME, encodeImage, encodeImageToFile, type EncodeFormat, type EncodeOptions, type RawImage } from './image.encode.js';
