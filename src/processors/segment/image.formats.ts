/** The media types the segmentation processors accept (detected by content). Light: no decoder here. */
export const IMAGE_MIME_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif', 'image/heif', 'image/heic'] as const;
