import { Type } from 'typebox';
import { defineProcessor } from '../../core/processor.types.js';
import { checkTools } from '../../media/tools/index.js';
import { AUDIO_CONTAINERS, VIDEO_CONTAINERS } from './ytdlp.args.js';
import type { DownloadVideoResult } from './ytdlp.run.js';

export const DownloadVideoParamsSchema = Type.Object({
  quality: Type.Optional(Type.Integer({
    minimum: 144,
    maximum: 4320,
    description: 'Largest video height in pixels (e.g. 720): the best format at or below it; none there is VIDEO_FORMAT_UNAVAILABLE. Default: the best available.',
  })),
  audio_only: Type.Boolean({ default: false, description: 'Only the audio, extracted to `container` (m4a unless set).' }),
  container: Type.Optional(Type.Union([...VIDEO_CONTAINERS, ...AUDIO_CONTAINERS].map((c) => Type.Literal(c)), {
    description: `Video: ${VIDEO_CONTAINERS.join(', ')} (default mp4). With audio_only: ${AUDIO_CONTAINERS.join(', ')} (default m4a).`,
  })),
  playlist: Type.Boolean({ default: false, description: 'When the URL is a playlist (or a video in one), download its entries; by default only the one video.' }),
  max_items: Type.Integer({ default: 20, minimum: 1, maximum: 500, description: 'With playlist: the most entries downloaded.' }),
}, { additionalProperties: false });

/**
 * `download-video`: the page of a video (YouTube and the other sites yt-dlp supports, or a bare
 * media/HLS link through yt-dlp's generic extractor) → the video file(s). Every request yt-dlp makes
 * goes through the SSRF guard proxy of src/net.
 */
export const downloadVideoProcessor = defineProcessor({
  name: 'download-video',
  version: '1',
  title: 'Download a video from a page',
  description: 'Downloads the video of a page (YouTube and the other sites yt-dlp supports) at the chosen quality and container, or only its audio; returns title, duration, uploader and source URL.',
  input: { kind: 'url' },
  params: DownloadVideoParamsSchema,
  policy: { concurrency: 2, timeoutMs: 3 * 3600_000, attempts: 3, backoffMs: 10_000, resource: 'io' },
  notes: 'Uses the yt-dlp program (Unlicense), found as tools.ytDlp; cookies for sign-in from tools.ytDlpCookies.',
  check: (config) => checkTools(config, 'yt-dlp'),
  async run(ctx, input, params): Promise<DownloadVideoResult> {
    const { runDownloadVideo } = await import('./ytdlp.run.js');
    return runDownloadVideo(ctx, input, params);
  },
});
