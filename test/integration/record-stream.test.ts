import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultConfig } from '../../src/config/load-config.js';
import { MediaflowError } from '../../src/core/errors.js';
import { validateParams } from '../../src/core/params.js';
import { forbiddenRange } from '../../src/net/index.js';
import { recordStreamProcessor } from '../../src/processors/record-stream/index.js';
import { recordStream } from '../../src/processors/record-stream/record.js';
import type { OutputInfo } from '../../src/core/processor.types.js';
import { createLocalContext } from '../../src/worker/local-context.js';
import { decodeFrames, ffprobe, makeHlsVod, startLiveHls, type LiveHls } from '../helpers/hls-media.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';

const config = defaultConfig({ network: { allowPrivate: true, idleTimeoutMs: 8000 } });

let server: TestServer;
let dir: string;
let live: LiveHls;
before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-record-'));
  await mkdir(path.join(dir, 'live'));
  live = startLiveHls(path.join(dir, 'live'));
  server = await startTestServer();
  server.route('/live', { kind: 'dir', dir: path.join(dir, 'live') });
  await live.waitForSegments(3);
});
after(async () => {
  await live.stop('kill');
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

async function checkPlayable(file: string): Promise<number> {
  const p = await ffprobe(file);
  assert.ok(p.startTime < 0.5, `${path.basename(file)} starts at ${p.startTime}: timestamps were reset`);
  assert.deepEqual(p.streams.map((s) => s.codec_type).sort(), ['audio', 'video']);
  assert.ok((await decodeFrames(file)) > 0);
  return p.duration;
}

test('12 s of a live stream in fragments of at most 5 s: 5 + 5 + 2, each playable, stored while recording', async () => {
  const outDir = path.join(dir, 'out-main');
  const stored: Array<{ name: string; at: number }> = [];
  const ctx = await createLocalContext({ config, outDir, onOutput: (o: OutputInfo) => stored.push({ name: o.name, at: Date.now() }) });
  try {
    const params = validateParams(recordStreamProcessor, { recording_duration: 12, max_fragment_duration: 5 }) as never;
    const result = await recordStreamProcessor.run(ctx, { kind: 'url', url: `${server.origin}/live/live.m3u8` }, params);
    const ended = Date.now();
    assert.deepEqual(result.fragments.map((f) => f.name), ['fragment_000.mp4', 'fragment_001.mp4', 'fragment_002.mp4']);
    const [a, b, c] = result.fragments;
    // Cuts fall on the source's 1-second keyframes: within one source segment of the target.
    assert.ok(Math.abs(a.duration - 5) <= 1, `fragment 0: ${a.duration} s`);
    assert.ok(Math.abs(b.duration - 5) <= 1, `fragment 1: ${b.duration} s`);
    assert.ok(Math.abs(c.duration - 2) <= 1, `fragment 2: ${c.duration} s`);
    assert.ok(Math.abs(result.recordedSeconds - 12) <= 1, `recorded ${result.recordedSeconds} s`);
    assert.ok(Math.abs(b.start - a.duration) < 0.2 && Math.abs(c.start - (a.duration + b.duration)) < 0.3, 'starts follow each other');
    assert.equal(result.endedEarly, false);
    assert.equal(result.endReason, 'completed');
    for (const f of result.fragments) {
      const d = await checkPlayable(path.join(outDir, f.name));
      assert.ok(Math.abs(d - f.duration) < 0.1);
    }
    assert.deepEqual(stored.map((s) => s.name), ['fragment_000.mp4', 'fragment_001.mp4', 'fragment_002.mp4']);
    assert.ok(ended - stored[0].at > 2000, `fragment 0 was stored ${ended - stored[0].at} ms before the end`);
  } finally {
    await ctx.dispose();
  }
});

test('cancel keeps the fragments so far, the last one finalised and playable', async () => {
  const outDir = path.join(dir, 'out-cancel');
  const ac = new AbortController();
  const names: string[] = [];
  const ctx = await createLocalContext({
    config,
    outDir,
    signal: ac.signal,
    onOutput: (o: OutputInfo) => {
      names.push(o.name);
      if (names.length === 1) setTimeout(() => ac.abort(), 2000); // cancel 2 s into the second fragment
    },
  });
  try {
    const params = validateParams(recordStreamProcessor, { recording_duration: 60, max_fragment_duration: 4 }) as never;
    await assert.rejects(recordStreamProcessor.run(ctx, { kind: 'url', url: `${server.origin}/live/live.m3u8` }, params), { name: 'AbortError' });
    assert.deepEqual(names, ['fragment_000.mp4', 'fragment_001.mp4']);
    assert.ok(Math.abs((await checkPlayable(path.join(outDir, names[0]))) - 4) <= 1);
    const last = await checkPlayable(path.join(outDir, names[1]));
    // Interrupted about 2 s in; on a loaded machine the cancel can land later, but the fragment is
    // still finalised, playable, and no longer than a fragment may be.
    assert.ok(last > 0.5 && last <= 5, `the interrupted fragment holds ${last} s`);
  } finally {
    await ctx.dispose();
  }
});

test('a stream that ends early ends the job with what was recorded; a master playlist records its best variant', async () => {
  await makeHlsVod(path.join(dir, 'vod'), { seconds: 4, master: true });
  server.route('/vod', { kind: 'dir', dir: path.join(dir, 'vod') });
  const outDir = path.join(dir, 'out-vod');
  const r = await recordStream({ playlistUrl: `${server.origin}/vod/master.m3u8`, recordingDuration: 20, maxFragmentDuration: 3, outDir, config });
  assert.equal(r.endedEarly, true);
  assert.equal(r.endReason, 'stream-ended');
  assert.match(r.message ?? '', /ended after/);
  assert.ok(Math.abs(r.recordedSeconds - 4) <= 0.5, `recorded ${r.recordedSeconds} s`);
  assert.equal(r.fragments.length, 2);
  assert.deepEqual(r.variant, { bandwidth: r.variant!.bandwidth, width: 640, height: 360 });
  const p = await ffprobe(path.join(outDir, r.fragments[0].name));
  assert.equal(p.streams.find((s) => s.codec_type === 'video')?.height, 360);
});

test('a live stream that stops updating ends as stalled, keeping its fragments', async () => {
  await mkdir(path.join(dir, 'live2'));
  const live2 = startLiveHls(path.join(dir, 'live2'));
  server.route('/live2', { kind: 'dir', dir: path.join(dir, 'live2') });
  try {
    await live2.waitForSegments(3);
    const outDir = path.join(dir, 'out-stall');
    const got: string[] = [];
    const r = await recordStream({
      playlistUrl: `${server.origin}/live2/live.m3u8`, recordingDuration: 30, maxFragmentDuration: 2, outDir, config, stallTimeoutMs: 2500,
      onFragment: (f) => {
        got.push(f.name);
        if (got.length === 2) void live2.stop('kill'); // the channel dies without #EXT-X-ENDLIST
      },
    });
    assert.equal(r.endReason, 'stalled');
    assert.equal(r.endedEarly, true);
    assert.ok(r.fragments.length >= 2 && r.recordedSeconds < 20, `${r.fragments.length} fragments, ${r.recordedSeconds} s`);
    for (const f of r.fragments) await checkPlayable(f.path);
  } finally {
    await live2.stop('kill');
  }
});

test('SSRF: a private playlist is refused by default, and segments pointing at a forbidden address are refused', async () => {
  await assert.rejects(recordStream({ playlistUrl: `${server.origin}/live/live.m3u8`, recordingDuration: 5, maxFragmentDuration: 5, outDir: path.join(dir, 'x'), config: defaultConfig() }),
    (e: unknown) => e instanceof MediaflowError && e.code === 'URL_FORBIDDEN');

  const evil = path.join(dir, 'evil');
  await mkdir(evil);
  await writeFile(path.join(evil, 'evil.m3u8'), '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0,\nhttp://169.254.169.254/latest/seg0.ts\n#EXTINF:1.0,\nhttp://10.0.0.1/seg1.ts\n#EXT-X-ENDLIST\n');
  server.route('/evil', { kind: 'dir', dir: evil });
  const resolve = async (): Promise<LookupAddress[]> => [{ address: '127.0.0.1', family: 4 }];
  const policy = (a: string) => (a === '127.0.0.1' ? null : forbiddenRange(a));
  await assert.rejects(
    recordStream({ playlistUrl: `${server.origin}/evil/evil.m3u8`, recordingDuration: 5, maxFragmentDuration: 5, outDir: path.join(dir, 'y'), config: defaultConfig(), policy, resolve }),
    (e: unknown) => e instanceof MediaflowError && e.code === 'URL_FORBIDDEN' && /10\.0\.0\.1|169\.254/.test(e.message),
  );
  await assert.rejects(
    recordStream({ playlistUrl: `${server.origin}/site/nothing.m3u8`, recordingDuration: 5, maxFragmentDuration: 5, outDir: path.join(dir, 'z'), config }),
    (e: unknown) => e instanceof MediaflowError && e.code === 'URL_HTTP_ERROR',
  );
});
