/**
 * Raster formats Mediaflow decodes, by sharp's name. SVG and PDF are refused (documents, not
 * pixels), and so is HEIC (the bundled libheif decodes AV1 only). Kept free of sharp so that
 * processor definitions can list their accepted types without loading the image library.
 */
export const IMAGE_FORMATS = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tiff: 'image/tiff',
  avif: 'image/avif',
} as const;

export type ImageFormat = keyof typeof IMAGE_FORMATS;

/** Media types of the formats above, for a processor's `input.accept`. */
export const IMAGE_MIME_TYPES: readonly string[] = Object.values(IMAGE_FORMATS);
