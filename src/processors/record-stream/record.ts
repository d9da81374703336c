import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError, MediaflowError } from '../../core/errors.js';
import { fetchText } from '../../net/fetch-text.js';
import { startGuardProxy } from '../../net/guard-proxy.js';
import { USER_AGENT } from '../../net/http-client.js';
import type { UrlGuardOptions } from '../../net/url-guard.js';
import { probeMedia } from '../../media/tools/index.js';
import { bestVariant, parseHlsPlaylist } from './hls-playlist.js';

export interface RecordStreamOptions extends UrlGuardOptions {
  /** The HLS playlist (media or master) of the live stream. */
  playlistUrl: string;
  /** Seconds of stream to record in total. */
  recordingDuration: number;
  /** Longest fragment, in seconds. Fragments are cut at the first keyframe at or after this length (stream copy cannot cut elsewhere). */
  maxFragmentDuration: number;
  /** Folder the fragments are written to (created if missing). */
  outDir: string;
  config: AppConfig;
  /** Stops the recording: fragments so far are finalised and reported, then the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Container of the fragments (default `mp4`; `ts` keeps the stream's MPEG-TS). */
  format?: 'mp4' | 'ts';
  /** Stream seconds recorded so far, and the target. */
  onProgress?: (recordedSeconds: number, totalSeconds: number) => void;
  /** Called (and awaited, in order) as soon as each fragment is complete and playable: store it here. */
  onFragment?: (fragment: RecordedFragment) => void | Promise<void>;
  onLog?: (message: string, level: 'info' | 'warn') => void;
  /** The recording ends (`endReason: 'stalled'`) when no new media arrives for this long. Default: `config.network.idleTimeoutMs`. */
  stallTimeoutMs?: number;
}

export interface RecordedFragment {
  index: number;
  name: string;
  path: string;
  /** Seconds from the start of the recording. */
  start: number;
  /** Seconds, measured by ffprobe on the finished file. */
  duration: number;
  size: number;
}

export interface RecordStreamResult {
  fragments: RecordedFragment[];
  recordedSeconds: number;
  requestedSeconds: number;
  /** True when the stream ended (or stalled) before `recordingDuration`. */
  endedEarly: boolean;
  endReason: 'completed' | 'stream-ended' | 'stalled';
  /** Why, in words, when the recording ended early. */
  message?: string;
  /** The variant recorded when the URL was a master playlist. */
  variant: { bandwidth: number; width?: number; height?: number } | null;
}

/** Classifies ffmpeg's last words when it produced nothing. */
function ffmpegError(stderr: string): MediaflowError {
  const line = stderr.trim().split('\n').filter(Boolean).at(-1) ?? 'ffmpeg failed without a message';
  if (/Server returned (4\d\d)/.test(stderr)) return new MediaflowError('URL_HTTP_ERROR', `ffmpeg: ${line}`, { retryable: false });
  if (/Server returned 5\d\d/.test(stderr)) return new MediaflowError('URL_HTTP_ERROR', `ffmpeg: ${line}`, { retryable: true });
  if (/Invalid data found|could not find codec|Output file #0 does not contain any stream/i.test(stderr)) {
    return new InputError('INPUT_UNSUPPORTED_TYPE', `The stream could not be read as audio/video: ${line}`);
  }
  if (/Connection refused|timed out|Failed to resolve|Network is unreachable|Connection reset|End of file|I\/O error/i.test(stderr)) {
    return new MediaflowError('URL_UNREACHABLE', `ffmpeg: ${line}`);
  }
  return new MediaflowError('PROCESSING_FAILED', `ffmpeg: ${line}`);
}

/**
 * Records an HLS live stream with ffmpeg into fragments: stream copy (no re-encode), the segment
 * muxer with `-reset_timestamps 1` so each fragment starts at 0 and plays on its own, the
 * segment list written to a pipe so that each fragment is announced the moment it is closed.
 *
 * Every request ffmpeg makes (playlist reloads, segments, redirects) goes through the SSRF guard
 * proxy; the playlist is first fetched by Mediaflow itself to check that it is HLS and, for a
 * master playlist, to pick the best variant, so ffmpeg downloads only that one.
 *
 * Ends when `recordingDuration` seconds are recorded, when the stream ends (`#EXT-X-ENDLIST` or
 * ffmpeg giving up) or stalls for `stallTimeoutMs`, each with what was recorded; on cancel, ffmpeg
 * is stopped gracefully (`q`, then SIGINT), the fragment being written is finalised and reported,
 * and the promise rejects with the signal's reason.
 */
export async function recordStream(opts: RecordStreamOptions): Promise<RecordStreamResult> {
  const { config, signal, recordingDuration: total, maxFragmentDuration: maxFrag } = opts;
  if (!Number.isFinite(total) || total < 1) throw new InputError('PARAMS_INVALID', 'recording_duration must be at least 1 second');
  if (!Number.isFinite(maxFrag) || maxFrag < 1) throw new InputError('PARAMS_INVALID', 'max_fragment_duration must be at least 1 second');
  const format = opts.format ?? 'mp4';
  const guard: UrlGuardOptions = { resolve: opts.resolve, policy: opts.policy };
  await mkdir(opts.outDir, { recursive: true });

  const playlist = await fetchText(opts.playlistUrl, { config, signal, ...guard });
  const info = parseHlsPlaylist(playlist.text);
  const variant = info.kind === 'master' ? bestVariant(info.variants) ?? null : null;
  // The media playlist (the variant's, for a master) tells the target duration, which sets how
  // many unchanged reloads make a stall; it is also what is checked for #EXT-X-ENDLIST at the end.
  let mediaUrl = playlist.url;
  let media = info;
  if (variant) {
    mediaUrl = new URL(variant.uri, playlist.url);
    media = parseHlsPlaylist((await fetchText(mediaUrl, { config, signal, ...guard })).text);
  }
  // ffmpeg's HLS demuxer makes one program per variant, numbered in file order; mapping one
  // program makes it fetch only that variant (and its audio rendition).
  const maps = variant ? ['-map', `0:p:${variant.index}:v?`, '-map', `0:p:${variant.index}:a?`] : ['-map', '0:v?', '-map', '0:a?'];
  signal?.throwIfAborted();

  const proxy = await startGuardProxy({ config, ...guard });
  try {
    const run: FfmpegRun = { url: playlist.url.href, maps, format, total, maxFrag, targetDuration: media.targetDuration ?? 6 };
    const r = await runFfmpeg(opts, run, proxy);
    let { endReason, message } = r;
    if (endReason === 'stream-ended' && !r.failed) {
      // ffmpeg ends the same way for #EXT-X-ENDLIST and for a playlist that stopped changing: look.
      const again = await fetchText(mediaUrl, { config, signal, ...guard }).then((t) => parseHlsPlaylist(t.text), () => null);
      if (again && !again.ended) {
        endReason = 'stalled';
        message = `The stream brought no new segments for ${Math.round(r.stallMs / 1000)} s; ${r.recordedSeconds} s of ${total} s recorded`;
      }
    }
    return {
      fragments: r.fragments,
      recordedSeconds: r.recordedSeconds,
      requestedSeconds: total,
      endedEarly: endReason !== 'completed',
      endReason,
      ...(message ? { message } : {}),
      variant: variant ? { bandwidth: variant.bandwidth, width: variant.width, height: variant.height } : null,
    };
  } finally {
    await proxy.close();
  }
}

interface FfmpegRun {
  url: string;
  maps: string[];
  format: 'mp4' | 'ts';
  total: number;
  maxFrag: number;
  targetDuration: number;
}

interface FfmpegOutcome {
  fragments: RecordedFragment[];
  recordedSeconds: number;
  endReason: RecordStreamResult['endReason'];
  message?: string;
  /** ffmpeg stopped on an error (not a clean end of stream). */
  failed: boolean;
  stallMs: number;
}

function runFfmpeg(
  opts: RecordStreamOptions,
  run: FfmpegRun,
  proxy: { url: string; failures: ReadonlyArray<{ error: MediaflowError }> },
): Promise<FfmpegOutcome> {
  const { config, signal } = opts;
  const { total, maxFrag, format } = run;
  const stallMs = opts.stallTimeoutMs ?? config.network.idleTimeoutMs;
  // An unchanged playlist is reloaded every half target duration; after this many reloads the
  // demuxer reports the end of the stream and ffmpeg finishes the open fragment properly. (Stopping
  // it from outside during that wait would need two SIGINTs, which also abort the fragment's trailer.)
  const holdCounters = Math.max(2, Math.ceil(stallMs / ((run.targetDuration * 1000) / 2)));
  const ext = format === 'mp4' ? 'mp4' : 'ts';
  const args = [
    '-hide_banner', '-nostats', '-loglevel', 'warning', '-progress', 'pipe:1',
    // Input side: every request through the guard proxy; rw_timeout (µs) also reaches segment fetches.
    '-http_proxy', proxy.url, '-user_agent', USER_AGENT,
    '-rw_timeout', String(config.network.idleTimeoutMs * 1000),
    '-reconnect', '1', '-reconnect_streamed', '1', '-reconnect_on_network_error', '1', '-reconnect_delay_max', '10',
    '-m3u8_hold_counters', String(holdCounters),
    '-i', run.url,
    '-t', String(total),
    ...run.maps,
    '-c', 'copy', '-dn', '-sn',
    '-f', 'segment', '-segment_time', String(maxFrag),
    // Accept a keyframe a hair before the boundary, so float rounding does not push a cut a whole GOP later.
    '-segment_time_delta', '0.05',
    '-reset_timestamps', '1',
    '-segment_format', format === 'mp4' ? 'mp4' : 'mpegts',
    ...(format === 'mp4' ? ['-segment_format_options', 'movflags=+faststart'] : []),
    '-segment_list', 'pipe:3', '-segment_list_type', 'csv',
    path.join(opts.outDir, `fragment_%03d.${ext}`),
  ];

  return new Promise<FfmpegOutcome>((resolve, reject) => {
    const child = spawn(config.tools.ffmpeg, args, { stdio: ['pipe', 'pipe', 'pipe', 'pipe'] });
    const fragments: RecordedFragment[] = [];
    let chain: Promise<void> = Promise.resolve();
    let announced = 0;
    let fragmentError: unknown;
    let stderrTail = '';
    let recorded = 0;
    let lastAdvance = Date.now();
    let stopping = false;
    let stalled = false;
    let spawnError: NodeJS.ErrnoException | undefined;
    const timers: NodeJS.Timeout[] = [];

    /**
     * Graceful stop: `q` (or one SIGINT, the same thing) ends the recording at the next packet and
     * finalises the open fragment. ffmpeg only sees it between reads, so a read blocked on a silent
     * server needs a second SIGINT, which interrupts the I/O but also the last fragment's trailer:
     * that fragment is then lost, the earlier ones are whole. SIGKILL is the last resort.
     */
    const stop = () => {
      if (stopping) return;
      stopping = true;
      if (child.stdin.writable) child.stdin.write('q');
      timers.push(setTimeout(() => child.kill('SIGINT'), 2000));
      timers.push(setTimeout(() => child.kill('SIGINT'), Math.max(10_000, run.targetDuration * 2000)));
      timers.push(setTimeout(() => child.kill('SIGKILL'), Math.max(15_000, run.targetDuration * 3000)));
    };
    const onAbort = () => stop();
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) stop();

    // A backstop for reads that hang without ffmpeg noticing (the hold counter covers a quiet playlist).
    const watchdogMs = stallMs + run.targetDuration * 2000 + 5000;
    const watchdog = setInterval(() => {
      if (!stopping && Date.now() - lastAdvance > watchdogMs) {
        stalled = true;
        opts.onLog?.(`no new media for ${watchdogMs} ms: ending the recording`, 'warn');
        stop();
      }
    }, 1000);

    child.stdin.on('error', () => undefined); // ffmpeg may exit before reading `q`
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /^out_time_us=(\d+)/.exec(line);
      if (!m) return;
      const t = Number(m[1]) / 1e6;
      if (t > recorded) {
        recorded = t;
        lastAdvance = Date.now();
        opts.onProgress?.(Math.min(recorded, total), total);
      }
    });

    createInterface({ input: child.stdio[3] as Readable }).on('line', (line) => {
      // csv: name,start,end — the name comes first and could in principle hold commas.
      const parts = line.split(',');
      if (parts.length < 3) return;
      const end = Number(parts.pop());
      const start = Number(parts.pop());
      const name = parts.join(',').replace(/^"|"$/g, '');
      const index = announced++;
      chain = chain.then(async () => {
        const file = path.join(opts.outDir, path.basename(name));
        const size = (await stat(file)).size;
        const probe = await probeMedia(file, config).catch(() => null);
        if (!probe) opts.onLog?.(`${name}: ffprobe could not read the fragment`, 'warn');
        const fragment: RecordedFragment = { index, name: path.basename(name), path: file, start, duration: probe?.duration ?? end - start, size };
        fragments.push(fragment);
        await opts.onFragment?.(fragment);
      }).catch((err) => {
        fragmentError ??= err;
        stop();
      });
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-8192);
      for (const l of chunk.split('\n')) if (l.trim()) opts.onLog?.(`ffmpeg: ${l.trim()}`, 'warn');
    });

    child.once('error', (err) => {
      spawnError = err as NodeJS.ErrnoException;
    });
    child.once('close', (code) => {
      clearInterval(watchdog);
      for (const t of timers) clearTimeout(t);
      signal?.removeEventListener('abort', onAbort);
      void chain.then(() => {
        if (fragmentError) return reject(fragmentError);
        if (signal?.aborted) return reject(signal.reason);
        if (spawnError) {
          return reject(spawnError.code === 'ENOENT'
            ? new MediaflowError('TOOL_MISSING', `ffmpeg was not found (${config.tools.ffmpeg}); install it or set tools.ffmpeg`, { retryable: false })
            : spawnError);
        }
        const proxyFailure = proxy.failures.at(-1)?.error;
        if (fragments.length === 0) {
          if (proxyFailure) return reject(proxyFailure);
          if (stalled) return reject(new MediaflowError('URL_TIMEOUT', `The stream sent no media for ${stallMs} ms`));
          return reject(code === 0 ? new MediaflowError('PROCESSING_FAILED', 'The stream ended before any media was recorded') : ffmpegError(stderrTail));
        }
        const recordedSeconds = Math.round(fragments.reduce((sum, f) => sum + f.duration, 0) * 1000) / 1000;
        const failed = code !== 0 && !stopping;
        let endReason: RecordStreamResult['endReason'] = 'completed';
        let message: string | undefined;
        if (stalled) {
          endReason = 'stalled';
          message = `The stream sent no new media for ${Math.round(watchdogMs / 1000)} s; ${recordedSeconds} s of ${total} s recorded`;
        } else if (failed) {
          endReason = 'stream-ended';
          message = `The stream failed after ${recordedSeconds} s: ${(proxyFailure?.message ?? stderrTail.trim().split('\n').at(-1)) || `ffmpeg exited with ${code}`}`;
        } else if (recordedSeconds < total - 1) {
          endReason = 'stream-ended';
          message = `The stream ended after ${recordedSeconds} s of the ${total} s requested`;
        }
        resolve({ fragments, recordedSeconds, endReason, ...(message ? { message } : {}), failed, stallMs });
      });
    });
  });
}
