import { open } from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '../../core/errors.js';
import { extensionFor, sniffMime } from '../../media/sniff.js';
import { downloadToFile } from '../../net/download-to-file.js';
import type { JobInput, ProcessorContext } from '../../core/processor.types.js';
import { mimeFromProbe, probeMedia, type MediaProbe } from '../../media/tools/index.js';

export interface DownloadResult {
  /** The stored output's name (safe; from Content-Disposition or the URL, with an extension added when it had none). */
  name: string;
  size: number;
  sha256: string;
  /** The type judged by content. */
  mime: string;
  /** The type the server claimed. */
  declaredType: string | null;
  url: string;
  finalUrl: string;
  /** ffprobe's summary when the file is audio or video. */
  media: MediaProbe | null;
  warning?: string;
}

const MiB = 1048576;
const fmt = (n: number) => (n / MiB).toFixed(1);

/** True when the start of the file is UTF-8 text without NUL bytes (magic-byte sniffing says nothing about text). */
async function looksLikeText(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(65536);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead === 0) return false;
    const head = buf.subarray(0, bytesRead);
    if (head.includes(0)) return false;
    // A multi-byte character may be cut at the end of the window; ignore the last 3 bytes.
    const decoded = new TextDecoder('utf-8', { fatal: false }).decode(head.subarray(0, Math.max(1, bytesRead - 3)));
    return !decoded.includes('\uFFFD');
  } finally {
    await fh.close();
  }
}

export async function runDownload(ctx: ProcessorContext, input: JobInput): Promise<DownloadResult> {
  if (input.kind !== 'url') throw new InputError('INPUT_MISSING', 'The download processor takes a URL');
  const dest = path.join(ctx.tmpdir, 'download.body');
  ctx.progress(0, 'connecting');
  // No hash on the way: storing the output hashes the file (content addressing), and hashing twice
  // held the download at half of loopback speed.
  const file = await downloadToFile(input.url, dest, {
    config: ctx.config,
    hash: false,
    signal: ctx.signal,
    onProgress: (received, total) => {
      ctx.progress(total ? 0.95 * (received / total) : 0, total ? `${fmt(received)} of ${fmt(total)} MiB` : `${fmt(received)} MiB`);
    },
  });
  if (file.size === 0) throw new InputError('INPUT_EMPTY', 'The server sent an empty body');
  ctx.progress(0.95, 'checking the type');
  ctx.signal.throwIfAborted();

  const declared = file.contentType?.split(';')[0].trim().toLowerCase() || null;
  const sniffed = await sniffMime(dest);
  let mime = sniffed;
  let media: MediaProbe | null = null;
  let warning: string | undefined;
  if (sniffed.startsWith('video/') || sniffed.startsWith('audio/') || sniffed === 'application/octet-stream') {
    try {
      media = await probeMedia(dest, ctx.config, ctx.signal);
    } catch (err) {
      if (ctx.signal.aborted) throw err;
      ctx.log(`ffprobe unavailable, media details skipped: ${(err as Error).message}`, 'warn');
    }
    if (media && sniffed === 'application/octet-stream') mime = mimeFromProbe(media) ?? mime;
    if (!media && sniffed !== 'application/octet-stream') warning = `The content looks like ${sniffed} but ffprobe could not read it (truncated or corrupt?)`;
  }
  if (mime === 'application/octet-stream' && (await looksLikeText(dest))) {
    // Text has no magic bytes: trust a textual declared type, otherwise call it plain text.
    mime = declared && (declared.startsWith('text/') || /[/+](json|xml|csv|javascript|yaml)$/.test(declared)) ? declared : 'text/plain';
  }

  let name = file.fileName;
  const ext = extensionFor(mime);
  if (!path.extname(name) && ext !== 'bin') name = `${name}.${ext}`;
  ctx.signal.throwIfAborted();
  const out = await ctx.output(name, dest, mime);
  ctx.progress(1, 'stored');
  return {
    name: out.name,
    size: out.size,
    sha256: out.sha256,
    mime,
    declaredType: declared,
    url: input.url,
    finalUrl: file.finalUrl,
    media,
    ...(warning ? { warning } : {}),
  };
}
