import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import type { AppConfig } from '../../src/config/config.schema.js';
import { defaultConfig } from '../../src/config/load-config.js';
import { validateParams } from '../../src/core/params.js';
import { forbiddenRange } from '../../src/net/index.js';
import { downloadVideoProcessor } from '../../src/processors/download-video/index.js';
import { mapYtDlpError } from '../../src/processors/download-video/ytdlp.errors.js';
import { runDownloadVideo } from '../../src/processors/download-video/ytdlp.run.js';
import { createLocalContext } from '../../src/worker/local-context.js';
import { ffprobe, makeClip, makeHlsVod } from '../helpers/hls-media.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { rejectsWith } from '../helpers/assertions.js';

const config = defaultConfig({ network: { allowPrivate: true, idleTimeoutMs: 10_000 } });

let server: TestServer;
let dir: string;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-video-'));
  const site = path.join(dir, 'site');
  await mkdir(site);
  await makeClip(path.join(site, 'clip.mp4'), { seconds: 3, width: 320, height: 240 });
  await writeFile(path.join(site, 'watch.html'), '<!doctype html><html><head><title>A test clip</title></head><body><video controls src="clip.mp4"></video></body></html>');
  await writeFile(path.join(site, 'plain.html'), '<!doctype html><html><head><title>No video</title></head><body><p>Nothing to see.</p></body></html>');
  await makeHlsVod(path.join(site, 'hls'), { seconds: 4, master: true });
  server = await startTestServer();
  server.route('/site', { kind: 'dir', dir: site });
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function runJob(params: Record<string, unknown>, url: string, cfg: AppConfig = config) {
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const ctx = await createLocalContext({ config: cfg, outDir });
  const progress: number[] = [];
  try {
    const result = await downloadVideoProcessor.run({ ...ctx, progress: (f) => progress.push(f) }, { kind: 'url', url }, validateParams(downloadVideoProcessor, params) as never);
    return { result, outDir, outputs: ctx.outputs, progress };
  } finally {
    await ctx.dispose();
  }
}

test('check() reports yt-dlp and its version', async () => {
  const ok = await downloadVideoProcessor.check!(config);
  assert.equal(ok.ok, true);
  assert.match(ok.detail ?? '', /^yt-dlp \d{4}\.\d{2}\.\d{2}/);
  const missing = await downloadVideoProcessor.check!(defaultConfig({ tools: { ytDlp: '/nonexistent/yt-dlp' } }));
  assert.equal(missing.ok, false);
});

test('a page with an embedded video, through yt-dlp\'s generic extractor', async () => {
  const { result, outDir, progress } = await runJob({}, `${server.origin}/site/watch.html`);
  assert.equal(result.items.length, 1);
  const item = result.items[0];
  assert.match(result.title ?? '', /A test clip/);
  assert.equal(result.sourceUrl, `${server.origin}/site/watch.html`);
  assert.equal(item.mime, 'video/mp4');
  assert.match(item.name, /\.mp4$/);
  assert.ok(item.duration !== null && Math.abs(item.duration - 3) < 0.3, `duration ${item.duration}`);
  const probed = await ffprobe(path.join(outDir, item.name));
  assert.deepEqual(probed.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
  assert.equal(probed.streams.find((s) => s.codec_type === 'video')?.width, 320);
  assert.ok(progress.some((f) => f > 0 && f < 1), 'download progress was parsed from yt-dlp');
  assert.equal(progress.at(-1), 1);
});

test('an HLS stream: best variant by default, the quality cap picks the smaller one, audio only', async () => {
  const url = `${server.origin}/site/hls/master.m3u8`;
  const best = await runJob({}, url);
  const bestProbe = await ffprobe(path.join(best.outDir, best.result.items[0].name));
  assert.equal(bestProbe.streams.find((s) => s.codec_type === 'video')?.height, 360);
  assert.ok(Math.abs(bestProbe.duration - 4) < 0.5, `duration ${bestProbe.duration}`);

  const capped = await runJob({ quality: 240, container: 'mkv' }, url);
  assert.match(capped.result.items[0].name, /\.mkv$/);
  const cappedProbe = await ffprobe(path.join(capped.outDir, capped.result.items[0].name));
  assert.equal(cappedProbe.streams.find((s) => s.codec_type === 'video')?.height, 180);

  const audio = await runJob({ audio_only: true }, url);
  const a = audio.result.items[0];
  assert.match(a.name, /\.m4a$/);
  const audioProbe = await ffprobe(path.join(audio.outDir, a.name));
  assert.deepEqual(audioProbe.streams.map((s) => s.codec_type), ['audio']);
});

test('yt-dlp errors become clear codes', async () => {
  await rejectsWith(runJob({}, `${server.origin}/site/plain.html`), 'VIDEO_URL_UNSUPPORTED');
  await rejectsWith(runJob({}, `${server.origin}/site/gone.mp4`), 'VIDEO_UNAVAILABLE');
  await rejectsWith(runJob({ quality: 144 }, `${server.origin}/site/hls/master.m3u8`), 'VIDEO_FORMAT_UNAVAILABLE');
  await rejectsWith(runJob({ audio_only: true, container: 'mp4' }, `${server.origin}/site/watch.html`), 'PARAMS_INVALID');
});

test('SSRF: a private page is refused by default, and a redirect to the metadata address is refused by the proxy', async () => {
  await rejectsWith(runJob({}, `${server.origin}/site/watch.html`, defaultConfig()), 'URL_FORBIDDEN');

  server.route('/to-metadata.mp4', { kind: 'redirect', to: 'http://169.254.169.254/latest/meta-data/video.mp4' });
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const ctx = await createLocalContext({ config: defaultConfig(), outDir });
  const resolve = async (): Promise<LookupAddress[]> => [{ address: '127.0.0.1', family: 4 }];
  try {
    // Only this test's server is allowed: yt-dlp reaches the page, then follows the redirect through the proxy.
    const policy = (a: string) => (a === '127.0.0.1' ? null : forbiddenRange(a));
    const e = await rejectsWith(runDownloadVideo(ctx, { kind: 'url', url: `${server.origin}/to-metadata.mp4` }, validateParams(downloadVideoProcessor, {}) as never, { policy, resolve }), 'URL_FORBIDDEN');
    assert.match(e.message, /169\.254\.169\.254/);
    assert.equal(ctx.outputs.length, 0);
  } finally {
    await ctx.dispose();
  }
});

test('yt-dlp messages from real sites map to the same codes', () => {
  const cases: Array<[string, string]> = [
    ['ERROR: [youtube] abcdefghijk: Sign in to confirm your age. This video may be inappropriate for some users.', 'VIDEO_SIGN_IN_REQUIRED'],
    ["ERROR: [youtube] abcdefghijk: Private video. Sign in if you've been granted access to this video", 'VIDEO_SIGN_IN_REQUIRED'],
    ["ERROR: [youtube] abcdefghijk: Sign in to confirm you're not a bot. Use --cookies-from-browser or --cookies for the authentication.", 'VIDEO_SIGN_IN_REQUIRED'],
    ['ERROR: [youtube] abcdefghijk: Video unavailable. This video has been removed by the uploader', 'VIDEO_UNAVAILABLE'],
    ['ERROR: [youtube] abcdefghijk: Video unavailable. The uploader has not made this video available in your country', 'VIDEO_UNAVAILABLE'],
    ['ERROR: [youtube] abcdefghijk: This live event will begin in 3 hours.', 'VIDEO_UNAVAILABLE'],
    ['ERROR: Unsupported URL: https://example.com/', 'VIDEO_URL_UNSUPPORTED'],
    ["ERROR: 'not-a-url' is not a valid URL. Set --default-search \"ytsearch\" (or run  yt-dlp \"ytsearch:not-a-url\" ) to search YouTube", 'URL_INVALID'],
    ['ERROR: [youtube] abcdefghijk: Requested format is not available. Use --list-formats for a list of available formats', 'VIDEO_FORMAT_UNAVAILABLE'],
    ['ERROR: [youtube] abcdefghijk: Unable to download API page: <urlopen error [Errno -3] Temporary failure in name resolution> (caused by URLError(gaierror(-3)))', 'URL_UNREACHABLE'],
    ['ERROR: [generic] None: Unable to download webpage: The read operation timed out', 'URL_TIMEOUT'],
    ['ERROR: something nobody foresaw', 'PROCESSING_FAILED'],
  ];
  for (const [stderr, code] of cases) {
    const e = mapYtDlpError(`[youtube] Extracting URL\n${stderr}\n`);
    assert.equal(e.code, code, stderr);
    assert.doesNotMatch(e.message, /please report this issue/);
  }
  assert.equal(mapYtDlpError('ERROR: x: Unable to download webpage: HTTP Error 503').retryable, true);
});
