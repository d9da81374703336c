import { spawn } from 'node:child_process';
import { copyFile, mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { InputError, MediaflowError } from '../../core/errors.js';
import { sniffMime } from '../../media/sniff.js';
import { assertUrlAllowed } from '../../net/url-guard.js';
import { startGuardProxy, type GuardProxyOptions } from '../../net/guard-proxy.js';
import { safeFileName } from '../../util/safe-name.js';
import { mimeFromProbe, probeMedia } from '../../media/tools/index.js';
import type { JobInput, ProcessorContext } from '../../core/processor.types.js';
import { mapYtDlpError } from './ytdlp.errors.js';
import { INFO_MARK, POSTPROCESS_MARK, PROGRESS_MARK, ytDlpArgs, type VideoParams } from './ytdlp.args.js';

export interface VideoItem {
  /** The stored output's name. */
  name: string;
  size: number;
  sha256: string;
  mime: string;
  id: string | null;
  title: string | null;
  /** Seconds (from the site, else from ffprobe). */
  duration: number | null;
  uploader: string | null;
  /** The page the video came from. */
  sourceUrl: string;
  extractor: string | null;
  width: number | null;
  height: number | null;
  playlistIndex: number | null;
}

export interface DownloadVideoResult {
  /** Of the first (usually only) video. */
  title: string | null;
  duration: number | null;
  uploader: string | null;
  sourceUrl: string;
  items: VideoItem[];
}

interface YtInfo {
  id?: string; title?: string; duration?: number; uploader?: string; channel?: string; webpage_url?: string; original_url?: string;
  extractor_key?: string; filepath?: string; width?: number; height?: number; playlist_index?: number;
}

interface YtProgress {
  status?: string; downloaded_bytes?: number; total_bytes?: number; total_bytes_estimate?: number; fragment_index?: number; fragment_count?: number;
}

const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' && v !== 'NA' ? v : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Runs yt-dlp for one job; test hooks for name resolution and the address policy go to the guard proxy. */
export async function runDownloadVideo(
  ctx: ProcessorContext,
  input: JobInput,
  params: VideoParams,
  guard: Omit<GuardProxyOptions, 'config'> = {},
): Promise<DownloadVideoResult> {
  if (input.kind !== 'url') throw new InputError('INPUT_MISSING', 'download-video takes the URL of a page or a media file');
  const { config } = ctx;
  // Fail fast on an obviously refused URL; every later request yt-dlp makes is checked by the proxy.
  await assertUrlAllowed(input.url, config, guard);
  const outDir = path.join(ctx.tmpdir, 'video');
  await mkdir(outDir, { recursive: true });

  let cookiesFile: string | undefined;
  if (config.tools.ytDlpCookies) {
    // yt-dlp writes the cookie jar back when it exits: give it a copy, keep the configured file intact.
    cookiesFile = path.join(ctx.tmpdir, 'cookies.txt');
    try {
      await copyFile(config.tools.ytDlpCookies, cookiesFile);
    } catch (err) {
      throw new MediaflowError('TOOL_MISSING', `tools.ytDlpCookies (${config.tools.ytDlpCookies}) cannot be read: ${(err as Error).message}`, { retryable: false });
    }
  }

  const proxy = await startGuardProxy({ config, ...guard });
  const items: VideoItem[] = [];
  const names = new Set<string>();
  let storing: Promise<void> = Promise.resolve();
  try {
    const args = ytDlpArgs({ url: input.url, params, outDir, config, proxyUrl: proxy.url, cookiesFile });
    ctx.progress(0, 'starting yt-dlp');
    await runYtDlp(config.tools.ytDlp, args, ctx, {
      onInfo: (info) => {
        // Store each file as soon as yt-dlp has finished it, so a playlist's first videos are visible early.
        storing = storing.then(async () => {
          items.push(await storeItem(ctx, info, input.url, names));
        });
        storing.catch(() => undefined);
      },
      proxyFailure: () => proxy.failures.at(-1)?.error,
    });
    await storing;
  } finally {
    await storing.catch(() => undefined);
    await proxy.close();
  }
  if (items.length === 0) throw new InputError('VIDEO_URL_UNSUPPORTED', 'yt-dlp finished without producing a file (an empty playlist?)');
  ctx.progress(1, 'done');
  const first = items[0];
  return { title: first.title, duration: first.duration, uploader: first.uploader, sourceUrl: first.sourceUrl, items };
}

async function storeItem(ctx: ProcessorContext, info: YtInfo, pageUrl: string, names: Set<string>): Promise<VideoItem> {
  const file = info.filepath;
  if (!file) throw new MediaflowError('PROCESSING_FAILED', 'yt-dlp did not say where it wrote the file');
  const st = await stat(file);
  const probe = await probeMedia(file, ctx.config, ctx.signal).catch((err) => {
    if (ctx.signal.aborted) throw err;
    return null;
  });
  let mime = await sniffMime(file);
  if (mime === 'application/octet-stream' && probe) mime = mimeFromProbe(probe) ?? mime;
  let name = safeFileName(path.basename(file), 'video');
  for (let i = 2; names.has(name); i++) name = `${path.parse(name).name} (${i})${path.extname(name)}`;
  names.add(name);
  const out = await ctx.output(name, file, mime);
  await rm(file, { force: true }); // a playlist can be large: free the temporary copy at once
  ctx.log(`stored ${name} (${st.size} bytes)`);
  return {
    name: out.name,
    size: out.size,
    sha256: out.sha256,
    mime,
    id: str(info.id),
    title: str(info.title),
    duration: num(info.duration) ?? probe?.duration ?? null,
    uploader: str(info.uploader) ?? str(info.channel),
    sourceUrl: str(info.webpage_url) ?? str(info.original_url) ?? pageUrl,
    extractor: str(info.extractor_key),
    width: num(info.width) ?? probe?.video?.width ?? null,
    height: num(info.height) ?? probe?.video?.height ?? null,
    playlistIndex: num(info.playlist_index),
  };
}

function runYtDlp(
  cmd: string,
  args: string[],
  ctx: ProcessorContext,
  hooks: { onInfo: (info: YtInfo) => void; proxyFailure: () => MediaflowError | undefined },
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    // Its own process group, so that cancel also reaches the ffmpeg yt-dlp may have started.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, PYTHONUNBUFFERED: '1' } });
    let stderrTail = '';
    let stdoutTail = '';
    let last = 0;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid) process.kill(-child.pid, sig);
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      signalGroup('SIGINT'); // yt-dlp stops cleanly on Ctrl-C
      killTimer = setTimeout(() => signalGroup('SIGKILL'), 5000);
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });

    const progress = (p: YtProgress, index: number | null, count: number | null) => {
      const total = p.total_bytes ?? p.total_bytes_estimate;
      let f = total ? (p.downloaded_bytes ?? 0) / total : p.fragment_count ? (p.fragment_index ?? 0) / p.fragment_count : 0;
      if (p.status === 'finished') f = 1;
      const overall = index && count ? (index - 1 + f) / count : f;
      // yt-dlp downloads video and audio one after the other: never let the bar run backwards.
      last = Math.max(last, Math.min(0.95, 0.95 * overall));
      const mib = ((p.downloaded_bytes ?? 0) / 1048576).toFixed(1);
      ctx.progress(last, `${index && count ? `item ${index}/${count}: ` : ''}${mib}${total ? ` of ${(total / 1048576).toFixed(1)}` : ''} MiB`);
    };

    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.startsWith(PROGRESS_MARK)) {
        const m = /^(\{.*\}) (\S+) (\S+)$/.exec(line.slice(PROGRESS_MARK.length));
        if (!m) return;
        try {
          // Outside a playlist both are "NA", which Number() turns into NaN, hence `|| null`.
          progress(JSON.parse(m[1]) as YtProgress, Number(JSON.parse(m[2])) || null, Number(JSON.parse(m[3])) || null);
        } catch { /* a malformed progress line is not worth failing for */ }
      } else if (line.startsWith(INFO_MARK)) {
        try {
          hooks.onInfo(JSON.parse(line.slice(INFO_MARK.length)) as YtInfo);
        } catch (err) {
          ctx.log(`unreadable yt-dlp info line: ${(err as Error).message}`, 'warn');
        }
      } else if (line.trim()) {
        stdoutTail = (stdoutTail + line + '\n').slice(-8192);
      }
    });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      // yt-dlp prints postprocessor progress without a newline: split on the marker too.
      for (const piece of chunk.split(POSTPROCESS_MARK)) {
        const pp = /^(\{[^}]*\})/.exec(piece);
        if (pp) {
          try {
            const p = JSON.parse(pp[1]) as { status?: string; postprocessor?: string };
            if (p.status === 'started' && p.postprocessor && p.postprocessor !== 'MoveFiles') ctx.progress(last, `post-processing: ${p.postprocessor}`);
          } catch { /* ignore */ }
        }
      }
      const text = chunk.replace(new RegExp(`${POSTPROCESS_MARK}\\{[^}]*\\}`, 'g'), '');
      for (const l of text.split('\n')) if (l.startsWith('WARNING:')) ctx.log(l, 'warn');
      stderrTail = (stderrTail + text).slice(-16384);
    });

    child.once('error', (err) => {
      ctx.signal.removeEventListener('abort', onAbort);
      const code = (err as NodeJS.ErrnoException).code;
      reject(code === 'ENOENT' ? new MediaflowError('TOOL_MISSING', `yt-dlp was not found (${cmd}); install it or set tools.ytDlp`, { retryable: false }) : err);
    });
    child.once('close', (code) => {
      ctx.signal.removeEventListener('abort', onAbort);
      clearTimeout(killTimer);
      if (ctx.signal.aborted) return reject(ctx.signal.reason);
      if (/larger than max-filesize/i.test(stdoutTail + stderrTail)) {
        return reject(new InputError('INPUT_TOO_LARGE', `The video is larger than the limit of ${ctx.config.limits.maxDownloadMb} MiB`));
      }
      if (code === 0) return resolve();
      reject(mapYtDlpError(stderrTail || stdoutTail, hooks.proxyFailure()));
    });
  });
}
