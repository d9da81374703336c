import { execFile } from 'node:child_process';
import type { AppConfig } from '../../config/config.schema.js';

/** What ffprobe says about a media file (a summary; the full probe is not kept). */
export interface MediaProbe {
  /** ffprobe's demuxer name, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `mpegts`. */
  format: string;
  /** Seconds, when known. */
  duration?: number;
  /** Bits per second of the whole file, when known. */
  bitRate?: number;
  video?: { codec: string; width: number; height: number; fps?: number };
  audio?: { codec: string; sampleRate?: number; channels?: number };
}

/**
 * The demuxers a downloaded file may be probed with. A whitelist (with `file` as the only protocol)
 * because ffprobe would otherwise follow what a hostile file points to: an HLS playlist or a concat
 * list would make it open other local files or URLs, an SSRF through the probe itself.
 */
const DEMUXERS = [
  'mov', 'mp4', 'matroska', 'webm', 'mpegts', 'mp3', 'aac', 'flac', 'wav', 'ogg', 'avi', 'flv', 'asf', 'mpeg', 'mpegps',
  'm4v', 'h264', 'hevc', 'ac3', 'eac3', 'amr', 'caf', 'aiff', 'w64', 'mxf', 'nut', 'wv', 'ape', 'tta', 'dts', 'truehd', '3gp',
].join(',');

function rate(r: string | undefined): number | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(r ?? '');
  if (!m || Number(m[2]) === 0) return undefined;
  const v = Number(m[1]) / Number(m[2]);
  return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) / 1000 : undefined;
}

function num(v: unknown): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== 'N/A' && Number.isFinite(n) ? n : undefined;
}

/**
 * Probes a local file with ffprobe. Returns `null` when the file is not audio or video that ffprobe
 * can read with one of the whitelisted demuxers (a text file, an archive, an HLS playlist ...).
 */
export function probeMedia(file: string, config: AppConfig, signal?: AbortSignal): Promise<MediaProbe | null> {
  const args = [
    '-v', 'error', '-protocol_whitelist', 'file', '-format_whitelist', DEMUXERS,
    '-show_format', '-show_streams', '-of', 'json', '-i', file,
  ];
  return new Promise((resolve, reject) => {
    execFile(config.tools.ffprobe, args, { encoding: 'utf8', maxBuffer: 8 << 20, timeout: 60_000, signal }, (err, stdout) => {
      if (signal?.aborted) return reject(signal.reason);
      if ((err as NodeJS.ErrnoException | null)?.code === 'ENOENT') return reject(err);
      if (err) return resolve(null);
      try {
        const j = JSON.parse(stdout) as { format?: Record<string, unknown>; streams?: Array<Record<string, unknown>> };
        const streams = j.streams ?? [];
        const v = streams.find((s) => s.codec_type === 'video' && !(s.disposition as Record<string, number> | undefined)?.attached_pic);
        const a = streams.find((s) => s.codec_type === 'audio');
        if (!j.format || (!v && !a)) return resolve(null);
        resolve({
          format: String(j.format.format_name),
          duration: num(j.format.duration),
          bitRate: num(j.format.bit_rate),
          ...(v ? { video: { codec: String(v.codec_name), width: Number(v.width), height: Number(v.height), fps: rate(v.avg_frame_rate as string) } } : {}),
          ...(a ? { audio: { codec: String(a.codec_name), sampleRate: num(a.sample_rate), channels: num(a.channels) } } : {}),
        });
      } catch {
        resolve(null);
      }
    });
  });
}

/** The media type of a probed file, from its demuxer (used when magic-byte sniffing found nothing). */
export function mimeFromProbe(p: MediaProbe): string | undefined {
  const f = p.format.split(',');
  const has = (n: string) => f.includes(n);
  const video = !!p.video;
  if (has('mp4') || has('mov')) return video ? 'video/mp4' : 'audio/mp4';
  if (has('webm') || has('matroska')) return video ? (p.format.includes('webm') && ['vp8', 'vp9', 'av1'].includes(p.video!.codec) ? 'video/webm' : 'video/x-matroska') : 'audio/webm';
  if (has('mpegts')) return 'video/mp2t';
  if (has('mp3')) return 'audio/mpeg';
  if (has('aac')) return 'audio/aac';
  if (has('flac')) return 'audio/flac';
  if (has('wav')) return 'audio/wav';
  if (has('ogg')) return video ? 'video/ogg' : 'audio/ogg';
  if (has('avi')) return 'video/x-msvideo';
  if (has('flv')) return 'video/x-flv';
  if (has('asf')) return video ? 'video/x-ms-asf' : 'audio/x-ms-wma';
  if (has('mpeg') || has('mpegps')) return 'video/mpeg';
  return undefined;
}
