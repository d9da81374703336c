import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openUi, screenshot } from '../helpers/browser.js';
import { completeStagedJob, putOutput, setProgress, stagedJob, startStagedJob, testVideo, toneWav, type FileSpec } from '../helpers/browser-fixtures.js';
import { json, startServer, tempDir, until, upload, type InProcessServer } from '../helpers/server.js';
import { shutdownUpscale } from '../../src/processors/upscale/index.js';

const run = promisify(execFile);

/** Submits a real job through the API and waits until it succeeded. */
async function finishedJob(s: InProcessServer, processor: string, file: FileSpec, params: Record<string, unknown> = {}) {
  const res = await upload(s.url, processor, file.bytes, file.name, { params: JSON.stringify(params) });
  const job = await json(res);
  assert.ok(job.id, JSON.stringify(job));
  return until(async () => {
    const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`));
    if (j.status === 'failed' || j.status === 'canceled') throw new Error(`${processor} job ${j.status}: ${JSON.stringify(j.error)}`);
    return j.status === 'succeeded' ? j : null;
  }, 60_000, 100);
}

/** Opens the page on a job and waits for its result view. */
async function openJob(browser: Browser, url: string, id: string, viewSelector: string) {
  const ui = await openUi(browser, `${url}/#job=${id}`);
  await ui.page.locator(`#detail ${viewSelector}`).waitFor({ timeout: 15_000 });
  return ui;
}

/** Pixels of a canvas: how many are painted, and the RGBA at given points (canvas pixel coordinates). */
function canvasPixels(page: Page, selector: string, points: Array<[number, number]> = []) {
  return page.locator(selector).evaluate((c: any, pts: Array<[number, number]>) => {
    const ctx = c.getContext('2d');
    const d = ctx.getImageData(0, 0, c.width, c.height).data;
    let painted = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) painted++;
    const at = pts.map(([x, y]) => { const i = (Math.floor(y) * c.width + Math.floor(x)) * 4; return [d[i], d[i + 1], d[i + 2], d[i + 3]]; });
    return { painted, at, width: c.width, height: c.height };
  }, points);
}

/** The same view on a phone-sized screen, in the dark scheme: nothing wider than the screen. */
async function narrowCheck(page: Page, name: string) {
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.setViewportSize({ width: 380, height: 800 });
  await page.waitForTimeout(100); // a resize observer redraws waveforms
  const overflow = await page.evaluate(() => {
    const d = (globalThis as any).document.documentElement;
    return d.scrollWidth - d.clientWidth;
  });
  assert.ok(overflow <= 0, `${name}: the page scrolls sideways by ${overflow}px on a narrow screen`);
  await screenshot(page, `${name}-narrow`);
}

describe('web UI: result views (real Chromium)', () => {
  let real: InProcessServer; // runs jobs with its worker: segment, orientation, upscale
  let staged: InProcessServer; // no worker: jobs written through the store (Demucs, yt-dlp, live HLS)
  let browser: Browser;
  let dir: string;
  let shapes: FileSpec;

  before(async () => {
    dir = tempDir('mediaflow-ui-results-');
    // A vertical red bar and a larger blue ellipse turned 30° counter-clockwise.
    const png = path.join(dir, 'shapes.png');
    await run('convert', ['-size', '200x120', 'xc:white', '-fill', '#c0392b', '-draw', 'rectangle 15,30 44,84',
      '-fill', '#2e86de', '-draw', 'translate 125,60 rotate -30 ellipse 0,0 52,14 0,360', png]);
    shapes = { name: 'shapes.png', mime: 'image/png', bytes: await readFile(png) };
    [real, staged, browser] = await Promise.all([startServer(), startServer({}, { worker: false }), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await Promise.all([real?.close(), staged?.close()]);
    // The in-process worker keeps an idle upscale pool for the next job; end it so the file can exit.
    await shutdownUpscale();
    await rm(dir, { recursive: true, force: true });
  });

  test('segment: masks decoded from COCO RLE are coloured over the image, with ids and principal axes', async () => {
    const job = await finishedJob(real, 'segment', shapes, { overlay: true });
    const inst = job.result.instances as Array<{ mask_id: number; area: number; centroid: [number, number]; angle: number; elongation: number }>;
    assert.equal(inst.length, 2);
    const { page, context, errors } = await openJob(browser, real.url, job.id, '.view-masks');
    await page.locator('#detail .mask-figure img').evaluate((img: any) => img.decode());

    // Every mask pixel decoded in the browser is painted, and nothing else: the count is the areas' sum.
    const px = await canvasPixels(page, '#detail canvas.mask-layer', inst.map((i) => i.centroid));
    assert.equal(px.width, 200);
    assert.equal(px.painted, inst.reduce((a, i) => a + i.area, 0));
    assert.notDeepEqual(px.at[0]!.slice(0, 3), px.at[1]!.slice(0, 3), 'each object has its own colour');
    assert.ok(px.at.every((p) => p[3]! > 100), 'centroids are inside their masks');

    const labels = await page.locator('#detail .mask-labels .mask-tag').allTextContents();
    assert.deepEqual(labels.sort(), ['#0', '#1']);
    // The ellipse's axis is drawn at its angle (counter-clockwise, about 30°).
    const ellipse = inst.find((i) => i.elongation > 5)!;
    assert.ok(Math.abs(ellipse.angle - 30) < 4, `ellipse angle ${ellipse.angle}`);
    const line = await page.locator(`#detail .mask-vectors g[data-k="${inst.indexOf(ellipse)}"] line.axis`).evaluate((l: any) => ['x1', 'y1', 'x2', 'y2'].map((a) => Number(l.getAttribute(a))));
    const drawn = (Math.atan2(-(line[3]! - line[1]!), line[2]! - line[0]!) * 180) / Math.PI;
    assert.ok(Math.abs(((drawn + 270) % 180) - 90 - ellipse.angle) < 0.5, `axis drawn at ${drawn}°`);

    // Pointing at a row picks out its object: its mask gets stronger, the other fades.
    const [c0, c1] = inst.map((i) => i.centroid);
    await page.locator('#detail table.instances tbody tr').nth(1).hover();
    const hi = await canvasPixels(page, '#detail canvas.mask-layer', [c0!, c1!]);
    assert.ok(hi.at[1]![3]! > px.at[1]![3]! && hi.at[0]![3]! < px.at[0]![3]!, JSON.stringify(hi.at));
    assert.equal(await page.locator('#detail table.instances tbody tr').count(), 2);
    await screenshot(page, 'segment-result');
    await narrowCheck(page, 'segment');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('orientation: the degree, drawn as an angle from the horizontal over the measured mask', async () => {
    const job = await finishedJob(real, 'orientation', shapes);
    assert.ok(Math.abs(job.result.degree - 30) < 4, `degree ${job.result.degree}`);
    const { page, context, errors } = await openJob(browser, real.url, job.id, '.view-masks');
    assert.equal((await page.locator('#detail .degree-value').textContent())?.trim(), `${job.result.degree.toFixed(1)}°`);
    assert.equal(await page.locator('#detail .angle-mark .arc').count(), 1);
    const px = await canvasPixels(page, '#detail canvas.mask-layer', [job.result.centroid]);
    assert.equal(px.painted, job.result.object.area);
    assert.ok(px.at[0]![3]! > 100);
    await screenshot(page, 'orientation-result');
    await narrowCheck(page, 'orientation');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('upscale: a before/after slider over the two images, and zoom', async () => {
    const job = await finishedJob(real, 'upscale', shapes, { scale: 2 });
    const { page, context, errors } = await openJob(browser, real.url, job.id, '.view-compare');
    const before = page.locator('#detail .compare-stage img.before');
    const afterImg = page.locator('#detail .compare-stage img.after');
    await before.evaluate((i: any) => i.decode());
    await afterImg.evaluate((i: any) => i.decode());
    assert.equal(await before.evaluate((i: any) => i.naturalWidth), 200);
    assert.equal(await afterImg.evaluate((i: any) => i.naturalWidth), 400);
    assert.match(await afterImg.getAttribute('src') ?? '', new RegExp(`/v1/jobs/${job.id}/outputs/image\\.png$`));

    // The slider (keyboard) moves the divider: the handle sits at that fraction of the picture.
    const slider = page.getByLabel('Before / after');
    await slider.focus();
    for (let i = 0; i < 50; i++) await page.keyboard.press('ArrowLeft'); // 50 steps of 0.5 → 25%
    assert.equal(await slider.inputValue(), '25');
    const stage = (await page.locator('#detail .compare-stage').boundingBox())!;
    const handle = (await page.locator('#detail .compare-handle').boundingBox())!;
    assert.ok(Math.abs(handle.x + handle.width / 2 - (stage.x + stage.width * 0.25)) < 2, `handle at ${handle.x}`);
    // The original shows only left of the divider.
    const clip = await before.evaluate((i: any) => (globalThis as any).getComputedStyle(i).clipPath);
    assert.match(clip, /inset\(0px calc\(75%|inset\(0px 75%/);
    // Dragging on the picture moves it too.
    await page.mouse.move(stage.x + stage.width * 0.8, stage.y + stage.height / 2);
    await page.mouse.down();
    await page.mouse.up();
    assert.ok(Math.abs(Number(await slider.inputValue()) - 80) < 1.5);

    // Zoom: the picture grows inside its frame, which scrolls.
    await page.getByLabel('Zoom').fill('3');
    const zoomed = (await page.locator('#detail .compare-stage').boundingBox())!;
    assert.ok(Math.abs(zoomed.width / stage.width - 3) < 0.05, `zoomed width ${zoomed.width} vs ${stage.width}`);
    assert.ok(await page.locator('#detail .compare-frame').evaluate((f: any) => f.scrollWidth > f.clientWidth));
    await page.getByLabel('Zoom').fill('1');
    await screenshot(page, 'upscale-result');
    await narrowCheck(page, 'upscale');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('separate: each stem as an audio player with a waveform drawn from its decoded audio', async () => {
    const [vocals, rest, mix] = await Promise.all([
      toneWav(dir, 'vocals.wav', { freq: 440, amplitude: 0.8, seconds: 2 }),
      toneWav(dir, 'no_vocals.wav', { freq: 110, amplitude: 0.05, seconds: 2 }),
      toneWav(dir, 'song.wav', { freq: 440, amplitude: 0.5, seconds: 2 }),
    ]);
    const id = await stagedJob(staged.rt, {
      processor: 'separate', params: { stems: 'vocals' }, input: mix, outputs: [vocals, rest],
      result: { model: 'htdemucs', stems: ['vocals', 'no_vocals'], outputs: ['vocals.wav', 'no_vocals.wav'], duration: 2, sampleRate: 44100, channels: 2, shifts: 1 },
    });
    const { page, context, errors } = await openJob(browser, staged.url, id, '.view-stems');
    const stems = page.locator('#detail figure.stem');
    assert.deepEqual(await stems.evaluateAll((f: any[]) => f.map((x) => x.dataset.stem)), ['vocals', 'no vocals', 'original']);
    const srcs = await page.locator('#detail figure.stem audio').evaluateAll((a: any[]) => a.map((x) => x.src));
    assert.ok(srcs[0].endsWith(`/v1/jobs/${id}/outputs/vocals.wav`), srcs[0]);
    assert.ok(srcs[1].endsWith(`/v1/jobs/${id}/outputs/no_vocals.wav`), srcs[1]);
    assert.ok(srcs[2].endsWith(`/v1/jobs/${id}/input`), srcs[2]);
    assert.equal(await stems.nth(0).getByRole('link', { name: 'Download vocals' }).getAttribute('href'), `/v1/jobs/${id}/outputs/vocals.wav?download=true`);

    // Waveforms come from the decoded audio: the loud stem fills its canvas, the quiet one hardly.
    await page.waitForFunction(() => [...(globalThis as any).document.querySelectorAll('#detail canvas.wave')].every((c: any) => c.dataset.state === 'drawn'), undefined, { timeout: 15_000 });
    assert.equal(await page.locator('#detail canvas.wave').first().getAttribute('data-duration'), '2.000');
    const loud = await canvasPixels(page, '#detail figure.stem:nth-child(1) canvas.wave');
    const quiet = await canvasPixels(page, '#detail figure.stem:nth-child(2) canvas.wave');
    assert.ok(loud.painted > 0.6 * loud.width * loud.height, `loud ${loud.painted}/${loud.width * loud.height}`);
    assert.ok(quiet.painted < 0.15 * quiet.width * quiet.height && quiet.painted > 0, `quiet ${quiet.painted}`);

    // Clicking the middle of a waveform seeks its player there.
    const audio = page.locator('#detail figure.stem:nth-child(1) audio');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#detail figure.stem audio').readyState >= 1);
    await page.locator('#detail figure.stem:nth-child(1) canvas.wave').click();
    const t = await audio.evaluate((a: any) => a.currentTime);
    assert.ok(Math.abs(t - 1) < 0.1, `seeked to ${t}`);
    await screenshot(page, 'separate-result');
    await narrowCheck(page, 'separate');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('record-stream: fragments appear and play while the recording runs', async () => {
    const [f0, f1] = await Promise.all([testVideo(dir, 'fragment_000.mp4', { seconds: 1 }), testVideo(dir, 'fragment_001.mp4', { seconds: 1 })]);
    const rt = staged.rt;
    const id = await startStagedJob(rt, { processor: 'record-stream', params: { recording_duration: 2, max_fragment_duration: 1, format: 'mp4' }, input: { url: 'http://127.0.0.1/live/stream.m3u8' } });
    const { page, context, errors } = await openUi(browser, `${staged.url}/#job=${id}`);
    await page.waitForSelector('#detail[data-status="running"]');

    await putOutput(rt, id, f0);
    await setProgress(rt, id, 0.5, '1 s of 2 s recorded');
    const items = page.locator('#detail .view-media ol.fragments li');
    await items.first().waitFor({ timeout: 10_000 });
    const video = page.locator('#detail .media-stage video');
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#detail .media-stage video')?.readyState >= 1, undefined, { timeout: 10_000 });
    assert.equal(await video.evaluate((v: any) => v.videoWidth), 160, 'the first fragment plays while recording');
    assert.ok((await video.getAttribute('src'))!.endsWith(`/v1/jobs/${id}/outputs/fragment_000.mp4`));
    await page.waitForFunction(() => /50%/.test((globalThis as any).document.querySelector('#detail .detail-progress')?.textContent ?? ''));

    await putOutput(rt, id, f1);
    await until(async () => (await items.count()) === 2, 10_000);
    assert.equal(await page.locator('#detail').getAttribute('data-status'), 'running');
    assert.match((await page.locator('#detail .view-media [role="status"]').textContent()) ?? '', /2 files so far/);
    await screenshot(page, 'record-stream-running');

    await completeStagedJob(rt, id, {
      fragments: [{ name: 'fragment_000.mp4', start: 0, duration: 1, size: f0.bytes.length }, { name: 'fragment_001.mp4', start: 1, duration: 1, size: f1.bytes.length }],
      recordedSeconds: 2, requestedSeconds: 2, endedEarly: false, endReason: 'completed', variant: { bandwidth: 300000, width: 160, height: 120 },
    });
    await page.waitForSelector('#detail[data-status="succeeded"]');
    await page.waitForFunction(() => /Recorded 2\.0 s of 2\.0 s/.test((globalThis as any).document.querySelector('#detail .view-media .summary')?.textContent ?? ''));
    assert.equal(await items.count(), 2);
    assert.match((await items.nth(1).textContent()) ?? '', /1\.0 s from 0:01/);
    await items.nth(1).getByRole('button', { name: 'Play fragment_001.mp4' }).click();
    await until(async () => (await video.getAttribute('src'))?.endsWith('/outputs/fragment_001.mp4'), 5000);
    assert.equal(await items.nth(1).getByRole('button').getAttribute('aria-pressed'), 'true');
    await screenshot(page, 'record-stream-done');
    await narrowCheck(page, 'record-stream');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('download-video: the video in a player with its title and source', async () => {
    const clip = await testVideo(dir, 'Test clip [abc123].mp4', { seconds: 1, width: 320, height: 180 });
    const id = await stagedJob(staged.rt, {
      processor: 'download-video', params: {}, input: { url: 'https://video.example/watch?v=abc123' }, outputs: [clip],
      result: {
        title: 'Test clip', duration: 1, uploader: 'Mediaflow', sourceUrl: 'https://video.example/watch?v=abc123',
        items: [{ name: clip.name, size: clip.bytes.length, sha256: '', mime: 'video/mp4', id: 'abc123', title: 'Test clip', duration: 1, uploader: 'Mediaflow', sourceUrl: 'https://video.example/watch?v=abc123', extractor: 'generic', width: 320, height: 180 }],
      },
    });
    const { page, context, errors } = await openJob(browser, staged.url, id, '.view-media');
    assert.match((await page.locator('#detail .view-media .summary').textContent()) ?? '', /Test clip by Mediaflow/);
    await page.waitForFunction(() => (globalThis as any).document.querySelector('#detail .media-stage video')?.readyState >= 1, undefined, { timeout: 10_000 });
    assert.equal(await page.locator('#detail .media-stage video').evaluate((v: any) => v.videoWidth), 320);
    assert.match((await page.locator('#detail ol.fragments li').textContent()) ?? '', /320×180/);
    await screenshot(page, 'download-video-result');
    await narrowCheck(page, 'download-video');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
