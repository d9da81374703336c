import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A short test video (testsrc + a sine tone), H.264/AAC, a keyframe every second. */
export async function makeClip(file: string, opts: { seconds?: number; width?: number; height?: number } = {}): Promise<string> {
  const { seconds = 2, width = 320, height = 240 } = opts;
  await run('ffmpeg', [
    '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc=size=${width}x${height}:rate=25`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', file,
  ]);
  return file;
}

/**
 * A finished (VOD) HLS stream in `dir`: with `master`, two variants (640x360 and 320x180, the small
 * one listed first) under `master.m3u8`; otherwise one media playlist `vod.m3u8`.
 */
export async function makeHlsVod(dir: string, opts: { seconds?: number; master?: boolean } = {}): Promise<string> {
  const { seconds = 4, master = false } = opts;
  await mkdir(dir, { recursive: true });
  const src = ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'testsrc=size=640x360:rate=25', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', String(seconds)];
  const enc = ['-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k'];
  if (master) {
    await run('ffmpeg', [
      ...src, '-filter_complex', '[0:v]split=2[a][b];[b]scale=320:180[bs]', '-map', '[a]', '-map', '[bs]', '-map', '1:a', '-map', '1:a',
      ...enc, '-b:v:0', '800k', '-b:v:1', '200k', '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod',
      '-var_stream_map', 'v:1,a:1 v:0,a:0', '-master_pl_name', 'master.m3u8', path.join(dir, 'stream_%v.m3u8'),
    ], { cwd: dir });
    return path.join(dir, 'master.m3u8');
  }
  await run('ffmpeg', [...src, ...enc, '-f', 'hls', '-hls_time', '1', '-hls_list_size', '0', '-hls_playlist_type', 'vod', path.join(dir, 'vod.m3u8')], { cwd: dir });
  return path.join(dir, 'vod.m3u8');
}

export interface LiveHls {
  playlist: string;
  process: ChildProcess;
  /** Resolves once the playlist lists at least `n` segments. */
  waitForSegments(n: number, timeoutMs?: number): Promise<void>;
  /** `q` (graceful: ffmpeg writes #EXT-X-ENDLIST) or a kill (the stream just stops updating). */
  stop(how?: 'graceful' | 'kill'): Promise<void>;
}

/**
 * A live HLS stream made while the test runs: a real-time (`-re`) testsrc + sine source encoded to
 * 1-second segments in a sliding window of 6, old segments deleted, like a live channel.
 */
export function startLiveHls(dir: string, opts: { seconds?: number } = {}): LiveHls {
  const playlist = path.join(dir, 'live.m3u8');
  const child = spawn('ffmpeg', [
    '-v', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-re', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    ...(opts.seconds ? ['-t', String(opts.seconds)] : []),
    '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '25', '-keyint_min', '25', '-sc_threshold', '0', '-pix_fmt', 'yuv420p',
    '-c:a', 'aac', '-b:a', '64k',
    '-f', 'hls', '-hls_time', '1', '-hls_list_size', '6', '-hls_flags', 'delete_segments+temp_file', playlist,
  ], { stdio: ['pipe', 'ignore', 'inherit'] });
  child.stdin!.on('error', () => undefined);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    playlist,
    process: child,
    async waitForSegments(n, timeoutMs = 20_000) {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        if (existsSync(playlist) && (readFileSync(playlist, 'utf8').match(/#EXTINF/g) ?? []).length >= n) return;
        await delay(100);
      }
      throw new Error(`the live playlist did not reach ${n} segments`);
    },
    async stop(how = 'graceful') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      if (how === 'graceful') child.stdin!.write('q');
      else child.kill('SIGKILL');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface ProbedFile {
  duration: number;
  startTime: number;
  streams: Array<{ codec_type: string; codec_name: string; width?: number; height?: number }>;
}

export async function ffprobe(file: string): Promise<ProbedFile> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-show_format', '-show_streams', '-of', 'json', file]);
  const j = JSON.parse(stdout) as { format: { duration: string; start_time: string }; streams: ProbedFile['streams'] };
  return { duration: Number(j.format.duration), startTime: Number(j.format.start_time), streams: j.streams };
}

/** Decodes every frame with ffmpeg; returns the number of video frames (throws when decoding reports an error). */
export async function decodeFrames(file: string): Promise<number> {
  const { stdout, stderr } = await run('ffprobe', ['-v', 'error', '-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', file]);
  if (stderr.trim()) throw new Error(`decoding ${file}: ${stderr.trim()}`);
  return Number(stdout.trim());
}
