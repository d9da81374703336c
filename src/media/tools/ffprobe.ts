import type { AppConfig } from '../../config/config.schema.js';
import { toolCommand } from './tools.names.js';
import { runTool, type ToolRun } from './tools.run.js';

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
 * The demuxers an untrusted file may be opened with: audio and video containers and elementary
 * streams. A whitelist (with `file` as the only protocol) because ffmpeg and ffprobe would otherwise
 * follow what a hostile file points to: an HLS playlist or a concat list would make them read other
 * local files or URLs, an SSRF through the probe itself.
 */
export const SAFE_DEMUXERS = [
  'wav', 'w64', 'flac', 'mp3', 'ogg', 'mov', 'mp4', 'm4v', '3gp', 'matroska', 'webm', 'aac', 'aiff', 'caf', 'wv', 'ape', 'tta', 'ac3',
  'eac3', 'dts', 'truehd', 'amr', 'asf', 'avi', 'flv', 'mpegts', 'mpeg', 'mpegps', 'au', 'voc', 'rm', 'mpc', 'mpc8', 'shorten', 'tak',
  'h264', 'hevc', 'mxf', 'nut',
].join(',');

/** Input options that every ffprobe/ffmpeg call on an untrusted file gets (see SAFE_DEMUXERS). */
export const SAFE_INPUT_ARGS = ['-protocol_whitelist', 'file', '-format_whitelist', SAFE_DEMUXERS] as const;

/** ffprobe's `-show_format -show_streams` answer. */
export interface FfprobeJson {
  format?: Record<string, unknown>;
  streams: Array<Record<string, unknown>>;
}

/** A number ffprobe printed, or undefined for its `N/A` and for what is not a finite number. */
export function probeNumber(v: unknown): number | undefined {
  const n = Number(v);
  return v !== undefined && v !== null && v !== 'N/A' && Number.isFinite(n) ? n : undefined;
}

function rate(r: string | undefined): number | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(r ?? '');
  if (!m || Number(m[2]) === 0) return undefined;
  const v = Number(m[1]) / Number(m[2]);
  return Number.isFinite(v) && v > 0 ? Math.round(v * 1000) / 1000 : undefined;
}

/**
 * Runs the configured ffprobe on an untrusted file (SAFE_INPUT_ARGS) and parses its JSON. `json` is
 * null when ffprobe could not read the file; `run` keeps its exit code and stderr for the message.
 * A missing ffprobe is `TOOL_MISSING`; the signal kills it.
 */
export async function ffprobeJson(file: string, config: AppConfig, signal?: AbortSignal): Promise<{ json: FfprobeJson | null; run: ToolRun }> {
  const run = await runTool(toolCommand('ffprobe', config), [
    '-v', 'error', ...SAFE_INPUT_ARGS, '-show_format', '-show_streams', '-of', 'json', '-i', file,
  ], { signal, tool: 'ffprobe', maxStdout: 8 << 20 });
  if (run.code !== 0) return { json: null, run };
  try {
    const parsed = JSON.parse(run.stdout.toString('utf8')) as Partial<FfprobeJson>;
    return { json: { ...parsed, streams: parsed.streams ?? [] }, run };
  } catch {
    return { json: null, run };
  }
}

/** A probe that hangs on a hostile file is given up after this long (the file is then "not media"). */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Probes a local file with ffprobe. Returns `null` when the file is not audio or video that ffprobe
 * can read with one of the whitelisted demuxers (a text file, an archive, an HLS playlist ...).
 * Rejects when ffprobe is missing (`TOOL_MISSING`) or the caller's signal fires.
 */
export async function probeMedia(file: string, config: AppConfig, signal?: AbortSignal): Promise<MediaProbe | null> {
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  let json: FfprobeJson | null;
  try {
    ({ json } = await ffprobeJson(file, config, signal ? AbortSignal.any([signal, timeout]) : timeout));
  } catch (err) {
    if (timeout.aborted && !signal?.aborted) return null;
    throw err;
  }
  const v = json?.streams.find((s) => s.codec_type === 'video' && !(s.disposition as Record<string, number> | undefined)?.attached_pic);
  const a = json?.streams.find((s) => s.codec_type === 'audio');
  if (!json?.format || (!v && !a)) return null;
  return {
    format: String(json.format.format_name),
    duration: probeNumber(json.format.duration),
    bitRate: probeNumber(json.format.bit_rate),
    ...(v ? { video: { codec: String(v.codec_name), width: Number(v.width), height: Number(v.height), fps: rate(v.avg_frame_rate as string) } } : {}),
    ...(a ? { audio: { codec: String(a.codec_name), sampleRate: probeNumber(a.sample_rate), channels: probeNumber(a.channels) } } : {}),
  };
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
