import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';

export const VIDEO_CONTAINERS = ['mp4', 'webm', 'mkv'] as const;
export const AUDIO_CONTAINERS = ['m4a', 'mp3', 'opus'] as const;

export interface VideoParams {
  quality?: number;
  audio_only: boolean;
  container?: string;
  playlist: boolean;
  max_items: number;
}

/** Marker prefixes of the machine-readable lines we ask yt-dlp to print. */
export const PROGRESS_MARK = 'MFPROG ';
export const POSTPROCESS_MARK = 'MFPP ';
export const INFO_MARK = 'MFINFO ';

/**
 * yt-dlp's command line for one job. Everything that could come from a user's configuration file
 * is switched off (`--ignore-config`, `--no-cache-dir`); progress and the final metadata come as
 * one JSON object per line after a marker, so parsing never depends on yt-dlp's human output.
 */
export function ytDlpArgs(opts: {
  url: string;
  params: VideoParams;
  outDir: string;
  config: AppConfig;
  proxyUrl: string;
  cookiesFile?: string;
}): string[] {
  const { params, config } = opts;
  const container = params.container ?? (params.audio_only ? 'm4a' : 'mp4');
  if (params.audio_only && !(AUDIO_CONTAINERS as readonly string[]).includes(container)) {
    throw new InputError('PARAMS_INVALID', `With audio_only the container must be one of ${AUDIO_CONTAINERS.join(', ')}, not ${container}`);
  }
  if (!params.audio_only && !(VIDEO_CONTAINERS as readonly string[]).includes(container)) {
    throw new InputError('PARAMS_INVALID', `For video the container must be one of ${VIDEO_CONTAINERS.join(', ')}, not ${container} (set audio_only for audio)`);
  }
  const args = [
    '--ignore-config', '--no-cache-dir', '--no-color', '--newline', '--progress', '--no-mtime',
    '--proxy', opts.proxyUrl,
    '--socket-timeout', String(Math.ceil(config.network.idleTimeoutMs / 1000)),
    '--retries', '3', '--fragment-retries', '3',
    '--max-filesize', `${Math.floor(config.limits.maxDownloadMb)}M`,
    '--progress-template', `download:${PROGRESS_MARK}%(progress.{status,downloaded_bytes,total_bytes,total_bytes_estimate,fragment_index,fragment_count})j %(info.playlist_index)j %(info.n_entries)j`,
    '--progress-template', `postprocess:${POSTPROCESS_MARK}%(progress.{status,postprocessor})j`,
    '--print', `after_move:${INFO_MARK}%(.{id,title,duration,uploader,channel,webpage_url,original_url,extractor_key,filepath,ext,width,height,playlist_index,upload_date})j`,
    '--no-simulate',
    '-P', opts.outDir,
    // The id keeps names of a playlist's entries distinct; the title is cut to 120 bytes for file systems.
    '-o', `${params.playlist ? '%(playlist_index&{} - |)s' : ''}%(title).120B [%(id)s].%(ext)s`,
  ];
  args.push(...(params.playlist ? ['--yes-playlist', '--playlist-items', `1:${params.max_items}`] : ['--no-playlist']));
  if (params.audio_only) {
    args.push('-f', 'ba/b', '-x', '--audio-format', container);
  } else {
    // `<=?` keeps formats of unknown height (a bare file link has none) instead of rejecting them.
    const h = params.quality ? `[height<=?${params.quality}]` : '';
    args.push('-f', `bv*${h}+ba/b${h}`);
    // Prefer codecs the container takes as they are, so that the merge is a remux, not a re-encode.
    const pref = container === 'mp4' ? ',ext:mp4:m4a' : container === 'webm' ? ',ext:webm:webm' : '';
    args.push('-S', `res${pref}`, '--merge-output-format', container, '--remux-video', container);
  }
  if (opts.cookiesFile) args.push('--cookies', opts.cookiesFile);
  // A bare program name is found on PATH by yt-dlp as well; only a path needs telling.
  if (config.tools.ffmpeg.includes('/')) args.push('--ffmpeg-location', config.tools.ffmpeg);
  args.push('--', opts.url);
  return args;
}
