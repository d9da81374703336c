import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { launchBrowser, openUi } from '../helpers/browser.js';
import { toneWav } from '../helpers/browser-fixtures.js';
import { startTestServer } from '../helpers/http-server.js';
import { json, startServer, submit, tempDir, until, type InProcessServer } from '../helpers/server.js';

let s: InProcessServer;
let browser: Browser;
let dir: string;
before(async () => {
  dir = tempDir();
  [s, browser] = await Promise.all([startServer({ network: { allowPrivate: true } }), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await s?.close();
  await rm(dir, { recursive: true, force: true });
});

test('"Send to…" on an output offers only processors that take its type, and opens the new job with its chain', async () => {
  const wav = await toneWav(dir, 'tone.wav', { freq: 440, amplitude: 0.5, seconds: 1 });
  const web = await startTestServer();
  const submitted = await json(await submit(s.url, { processor: 'download', input: { url: web.route('/tone.wav', { kind: 'file', body: wav.bytes, contentType: 'audio/wav' }) } }));
  const first = await until(async () => {
    const j = await json(await fetch(`${s.url}/v1/jobs/${submitted.id}`));
    return ['succeeded', 'failed', 'canceled'].includes(j.status) ? j : null;
  }, 30_000, 50);
  await web.close();
  assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
  const { page, context, errors } = await openUi(browser, `${s.url}/#job=${first.id}`);
  try {
    const send = page.locator('#detail .outputs .send-to');
    await send.waitFor({ timeout: 15_000 });
    // A WAV: the audio processor (and those taking any file) are offered, image processors are not.
    const offered = await send.locator('option').evaluateAll((els) => els.map((e) => (e as any).value));
    assert.ok(offered.includes('separate'), `offered: ${offered.join(', ')}`);
    assert.ok(!offered.some((t) => ['ocr', 'upscale', 'segment', 'orientation'].includes(t)), `offered: ${offered.join(', ')}`);
    await send.locator('select').selectOption('checksum');
    await send.locator('button.send').click();
    await page.waitForFunction((id) => !(globalThis as any).location.hash.includes(id), first.id, { timeout: 15_000 });
    const next = /job=([\w-]+)/.exec(await page.evaluate(() => (globalThis as any).location.hash as string))![1]!;
    // The facts (and the chain line in them) are rebuilt as the job's status changes: look once it has ended.
    await page.waitForSelector('#detail[data-status="succeeded"]', { timeout: 30_000 });
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('#detail .chain li').length === 2, undefined, { timeout: 15_000 });
    const chain = page.locator('#detail .chain li');
    assert.equal(await chain.first().locator('a').getAttribute('href'), `#job=${first.id}`);
    const job = await json(await fetch(`${s.url}/v1/jobs/${next}`));
    assert.deepEqual(job.upstream?.job, first.id);
    await page.waitForSelector('#detail[data-status="succeeded"]', { timeout: 30_000 });
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
