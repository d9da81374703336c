import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../src/config/load-config.js';
import { checkTools, findTool, locateExecutable, probeMedia, runFfmpeg } from '../../src/media/tools/index.js';
import { makeClip, makeHlsVod } from '../helpers/hls-media.js';
import { rejectsWith } from '../helpers/assertions.js';

let dir: string;
before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-tools-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

test('ffmpeg and ffprobe are found on PATH, with their version and file, for /ready', async () => {
  const config = defaultConfig({ data: dir });
  const ffmpeg = await findTool('ffmpeg', config);
  assert.equal(ffmpeg.path, await locateExecutable('ffmpeg'));
  assert.match(ffmpeg.version, /^\S+/);
  assert.doesNotMatch(ffmpeg.version, /Copyright|^ffmpeg version/);
  const ready = await checkTools(config, 'ffmpeg', 'ffprobe');
  assert.equal(ready.ok, true, ready.detail);
  assert.match(ready.detail, /^ffmpeg \S+ \(\/.*ffmpeg\); ffprobe \S+ \(\/.*ffprobe\)$/);
});

test('a missing program is TOOL_MISSING naming the setting; installed later, it is found without a restart', async () => {
  const bin = path.join(dir, 'bin');
  const probe = path.join(bin, 'my-ffprobe');
  const config = defaultConfig({ data: dir, tools: { ffprobe: probe } });
  const missing = await checkTools(config, 'ffmpeg', 'ffprobe');
  assert.equal(missing.ok, false);
  assert.match(missing.detail, /ffprobe was not found \(.*my-ffprobe\); install it or set tools\.ffprobe/);
  await rejectsWith(findTool('yt-dlp', defaultConfig({ data: dir, tools: { ytDlp: 'no-such-program-here' } })), 'TOOL_MISSING');
  // A working program that exits non-zero on the version query is no better than a missing one.
  await mkdir(bin, { recursive: true });
  await writeFile(probe, '#!/bin/sh\necho "broken install" >&2\nexit 3\n');
  await chmod(probe, 0o755);
  assert.match((await checkTools(config, 'ffprobe')).detail, /failed to start: broken install/);
  await writeFile(probe, '#!/bin/sh\necho "ffprobe version 9.9-test Copyright (c) nobody"\n');
  const ready = await checkTools(config, 'ffprobe');
  assert.deepEqual(ready, { ok: true, detail: `ffprobe 9.9-test (${probe})` });
});

test('probeMedia summarises audio and video; a playlist or text is not media (the demuxer whitelist holds)', async () => {
  const config = defaultConfig({ data: dir });
  const clip = await makeClip(path.join(dir, 'clip.mp4'), { seconds: 2, width: 160, height: 120 });
  const p = await probeMedia(clip, config);
  assert.ok(p && Math.abs((p.duration ?? 0) - 2) < 0.2, JSON.stringify(p));
  assert.deepEqual([p.video?.codec, p.video?.width, p.video?.height, p.video?.fps, p.audio?.codec], ['h264', 160, 120, 25, 'aac']);
  const playlist = await makeHlsVod(path.join(dir, 'hls'), { seconds: 2 });
  assert.equal(await probeMedia(playlist, config), null);
  const text = path.join(dir, 'notes.txt');
  await writeFile(text, 'plain words, not media\n');
  assert.equal(await probeMedia(text, config), null);
  await rejectsWith(probeMedia(clip, defaultConfig({ data: dir, tools: { ffprobe: path.join(dir, 'gone') } })), 'TOOL_MISSING');
});

test('runFfmpeg: the abort signal kills the program and rejects with its reason', async () => {
  const config = defaultConfig({ data: dir });
  const ac = new AbortController();
  const run = runFfmpeg(config, ['-re', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=60', '-f', 'null', '-'], { signal: ac.signal });
  setTimeout(() => ac.abort(new Error('cancelled by the test')), 300);
  await assert.rejects(run, /cancelled by the test/);
  const ok = await runFfmpeg(config, ['-f', 'lavfi', '-i', 'sine=duration=0.1', '-f', 'null', '-']);
  assert.equal(ok.code, 0, ok.stderr);
});
