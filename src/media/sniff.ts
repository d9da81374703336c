import { fileTypeFromFile } from 'file-type';

/**
 * The media type of a file, judged by its content (magic bytes), never by its name.
 * Returns `application/octet-stream` when nothing is recognised (text files included).
 */
export async function sniffMime(file: string): Promise<string> {
  const t = await fileTypeFromFile(file);
  if (!t) return 'application/octet-stream';
  // file-type says audio/x-flac / audio/vnd.wave in some versions: normalise to the common names.
  const aliases: Record<string, string> = { 'audio/x-flac': 'audio/flac', 'audio/vnd.wave': 'audio/wav', 'audio/x-wav': 'audio/wav' };
  return aliases[t.mime] ?? t.mime;
}

/** True when `mime` matches one of the patterns (`image/png`, `image/*`, `*`). */
export function mimeMatches(mime: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => p === '*' || p === mime || (p.endsWith('/*') && mime.startsWith(p.slice(0, -1))));
}

/** The usual file extension of a media type (for output and download names). */
export function extensionFor(mime: string): string {
  const map: Record<string, string> = {
    'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'image/tiff': 'tiff',
    'audio/wav': 'wav', 'audio/flac': 'flac', 'audio/mpeg': 'mp3', 'audio/ogg': 'ogg', 'audio/mp4': 'm4a',
    'video/mp4': 'mp4', 'video/webm': 'webm', 'video/x-matroska': 'mkv', 'video/mp2t': 'ts',
    'application/json': 'json', 'text/plain': 'txt', 'text/html': 'html', 'text/tab-separated-values': 'tsv',
  };
  return map[mime] ?? 'bin';
}
