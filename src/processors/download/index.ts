import { Type } from 'typebox';
import { defineProcessor } from '../../core/processor.types.js';
import { checkTools } from '../../media/tools/index.js';
import type { DownloadResult } from './download.run.js';

/**
 * `download`: a URL → one stored file. Streamed to disk (never whole in memory) with the SSRF
 * checks of src/net on every hop, resumed after dropped connections, limited by
 * `limits.maxDownloadMb`; the stored type is judged by content (magic bytes, then ffprobe for media).
 */
export const downloadProcessor = defineProcessor({
  name: 'download',
  version: '1',
  title: 'Download a file',
  description: 'Downloads the file at a URL (http or https) and stores it under a safe file name, with its type checked by content and its SHA-256. Private and link-local addresses are refused unless allowed by configuration.',
  input: { kind: 'url' },
  params: Type.Object({}, { additionalProperties: false }),
  policy: { concurrency: 4, timeoutMs: 3 * 3600_000, attempts: 3, backoffMs: 5000, resource: 'io' },
  check: (config) => checkTools(config, 'ffprobe'),
  async run(ctx, input): Promise<DownloadResult> {
    const { runDownload } = await import('./download.run.js');
    return runDownload(ctx, input);
  },
});
