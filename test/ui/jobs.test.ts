import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { dropFiles, launchBrowser, openUi, screenshot } from '../helpers/browser.js';
import { json, startServer, submit, tempDir, until, type InProcessServer } from '../helpers/server.js';

const run = promisify(execFile);
const URL_IN = { url: 'http://127.0.0.1/' };

/** Reads a job row's visible state. */
async function row(page: Page, id: string) {
  const li = page.locator(`li.job[data-id="${id}"]`);
  return {
    li,
    status: (await li.locator('.badge').textContent())?.trim(),
    progress: Number(await li.locator('progress').evaluate((el: any) => el.value)),
  };
}

describe('web UI: submit and follow jobs (real Chromium, real server)', () => {
  let s: InProcessServer;
  let browser: Browser;
  let dir: string;
  let textPng: Buffer;

  before(async () => {
    dir = tempDir('mediaflow-ui-jobs-');
    const png = path.join(dir, 'hello.png');
    await run('convert', ['-size', '800x200', 'xc:white', '-font', 'DejaVu-Sans', '-pointsize', '48', '-draw', "text 20,100 'Hello Mediaflow'", png]);
    textPng = await readFile(png);
    [s, browser] = await Promise.all([startServer({ network: { allowPrivate: true } }), launchBrowser()]);
  });

  after(async () => {
    await browser?.close();
    await s?.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('an image dropped on the page becomes an OCR job whose recognised text and word boxes appear', async () => {
    const { page, context, errors } = await openUi(browser, s.url);
    await page.selectOption('#processor', 'ocr');
    await dropFiles(page, '#submit', [{ name: 'hello.png', mime: 'image/png', bytes: textPng }]);
    assert.match(await page.locator('#chosen').textContent() ?? '', /hello\.png/);
    assert.equal((await page.locator('#submit-button').textContent())?.trim(), 'Start job');
    await page.click('#submit-button');

    // One file: its job opens by itself; the text appears when the job ends.
    const text = page.locator('#detail .ocr-text');
    await text.waitFor({ timeout: 60_000 });
    assert.match((await text.textContent()) ?? '', /Hello\s+Mediaflow/);
    assert.equal(await page.locator('#detail').getAttribute('data-status'), 'succeeded');
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#job=', ''));
    const r = await row(page, id);
    assert.equal(r.status, 'succeeded');
    assert.equal(r.progress, 1);

    // Pointing at a word highlights its box over the image, where the word really is.
    const word = page.locator('#detail .word', { hasText: 'Mediaflow' });
    await word.hover();
    const box = page.locator('#detail .boxes rect.active');
    assert.equal(await box.count(), 1);
    const img = await page.locator('#detail .ocr-figure img').boundingBox();
    const b = await box.boundingBox();
    assert.ok(img && b);
    // The image is 800×200 and "Mediaflow" starts at about x = 200 of it, on the baseline y ≈ 100.
    const sx = img.width / 800;
    assert.ok(b.x > img.x + 150 * sx && b.x < img.x + 260 * sx, `box x ${b.x} vs image ${img.x}`);
    assert.ok(b.y < img.y + 100 * sx && b.y + b.height > img.y + 70 * sx, `box y ${b.y}..${b.y + b.height}`);
    // Fully drawn once its short fade-in ends.
    await page.waitForFunction((el: any) => Number((globalThis as any).getComputedStyle(el).opacity) > 0.9, await box.elementHandle(), { timeout: 5000 });
    // And the other way: pointing at a box highlights its word in the text.
    await page.locator('#detail .boxes rect').first().hover();
    assert.equal((await page.locator('#detail .word.active').textContent())?.trim(), 'Hello');
    // The keyboard walks the words too.
    await page.locator('#detail .ocr-text').focus();
    await page.keyboard.press('End');
    assert.equal((await page.locator('#detail .word.active').textContent())?.trim(), 'Mediaflow');
    await screenshot(page, 'ocr-result');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a file the processor cannot read is refused with the error in plain words and its code', async () => {
    const { page, context } = await openUi(browser, s.url);
    await page.selectOption('#processor', 'ocr');
    await page.setInputFiles('#ocr-file', { name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('this is not an image\n') });
    await page.click('#submit-button');
    const failed = page.locator('#submissions li.failed');
    await failed.waitFor();
    const text = (await failed.textContent()) ?? '';
    assert.match(text, /notes\.png/);
    assert.match(text, /does not accept this file/);
    assert.equal((await failed.locator('code').textContent())?.trim(), 'INPUT_UNSUPPORTED_TYPE');
    assert.equal(await failed.getAttribute('role'), 'alert');
    await screenshot(page, 'bad-file');
    await context.close();
  });

  test('several files chosen at once make one job each; the list pages with "Load more"', async () => {
    const { page, context, errors } = await openUi(browser, s.url);
    await page.selectOption('#processor', 'checksum');
    await page.setInputFiles('#ocr-file', [
      { name: 'a.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('first file') },
      { name: 'b.bin', mimeType: 'application/octet-stream', buffer: Buffer.from('second file') },
    ]);
    assert.equal((await page.locator('#submit-button').textContent())?.trim(), 'Start 2 jobs');
    await page.click('#submit-button');
    const done = page.locator('#submissions li.ok');
    await until(async () => (await done.count()) === 2, 10_000);
    const ids = await done.locator('a').evaluateAll((as: any[]) => as.map((a) => decodeURIComponent(a.getAttribute('href').replace('#job=', ''))));
    assert.equal(new Set(ids).size, 2);
    for (const id of ids) await page.locator(`li.job[data-id="${id}"][data-status="succeeded"]`).waitFor({ timeout: 10_000 });
    const sums = await Promise.all(ids.map(async (id) => (await json(await fetch(`${s.url}/v1/jobs/${id}`))).result.name));
    assert.deepEqual(sums.sort(), ['a.bin', 'b.bin']);

    // 55 more jobs: the first page shows 50, the rest come with "Load more".
    for (let i = 0; i < 55; i++) await submit(s.url, { processor: 'noop', params: { value: String(i) }, input: URL_IN });
    await page.selectOption('#filter-processor', 'noop');
    await until(async () => (await page.locator('li.job').count()) === 50, 10_000);
    await page.click('#jobs-more');
    await until(async () => (await page.locator('li.job').count()) === 55, 10_000);
    assert.equal(await page.locator('#jobs-more').isHidden(), true);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('a URL job submitted with schema-generated params shows its progress bar advance and end', async () => {
    const { page, context, errors } = await openUi(browser, s.url);
    await page.selectOption('#processor', 'sleep');
    assert.equal(await page.locator('#file-area').isHidden(), true);
    await page.click('#params > summary');
    const ms = page.getByLabel('Ms', { exact: true });
    assert.equal(await ms.inputValue(), '1000', 'the default from the JSON Schema');
    assert.equal(await page.getByLabel('Fail', { exact: true }).isChecked(), false);
    assert.match((await page.locator('#params').textContent()) ?? '', /Throw a retryable error at the end/);
    await ms.fill('3000');
    await page.fill('#url', 'http://127.0.0.1/progress');
    await page.click('#submit-button');

    await page.waitForSelector('#detail[data-processor="sleep"]');
    const id = decodeURIComponent(new URL(page.url()).hash.replace('#job=', ''));
    const job = await json(await fetch(`${s.url}/v1/jobs/${id}`));
    assert.equal(job.params.ms, 3000);

    // Sample the bar while it runs: it must move forward, show a stage and times, and end full.
    const seen: number[] = [];
    let sawStage = false, sawRemaining = false;
    await until(async () => {
      const r = await row(page, id);
      seen.push(r.progress);
      const meta = (await r.li.locator('.job-meta').textContent()) ?? '';
      if (/step \d+\/20/.test(meta)) sawStage = true;
      if (/about \d+:\d\d left/.test(meta)) sawRemaining = true;
      if (seen.length === 8) await screenshot(page, 'progress-running');
      return r.status === 'succeeded';
    }, 20_000, 100);
    const r = await row(page, id);
    assert.equal(r.progress, 1);
    const mid = seen.filter((p) => p > 0 && p < 1);
    assert.ok(mid.length >= 2, `saw intermediate values ${seen.join(',')}`);
    assert.ok(mid.every((p, i) => i === 0 || p >= mid[i - 1]!), 'never goes back');
    assert.ok(sawStage, 'stage text shown');
    assert.ok(sawRemaining, 'remaining time shown');
    const took = /took (\d+):(\d\d)/.exec((await r.li.locator('.elapsed').textContent()) ?? '');
    assert.ok(took && Number(took[1]) * 60 + Number(took[2]) >= 2, `a 3 s job took ${took?.[0]}`);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test('cancel, retry and delete act on the job, and the list follows', async () => {
    const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 30_000 }, input: URL_IN }));
    const { page, context } = await openUi(browser, s.url);
    const li = page.locator(`li.job[data-id="${job.id}"]`);
    await until(async () => (await row(page, job.id)).progress > 0, 10_000);
    await li.getByRole('button', { name: /^Cancel/ }).click();
    await until(async () => (await row(page, job.id)).status === 'canceled', 10_000);
    assert.match((await li.locator('.job-error').textContent()) ?? '', /Canceled/);
    assert.equal((await li.locator('.job-error code').textContent())?.trim(), 'JOB_CANCELED');
    assert.equal((await json(await fetch(`${s.url}/v1/jobs/${job.id}`))).status, 'canceled');

    await li.getByRole('button', { name: /^Retry/ }).click();
    await until(async () => ['queued', 'running'].includes((await row(page, job.id)).status ?? ''), 10_000);
    await li.getByRole('button', { name: /^Delete/ }).click(); // the confirm dialog is accepted
    await li.waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}`)).status, 404);
    await context.close();
  });

  test('filters and the open job survive a reload; a job submitted elsewhere appears live', async () => {
    const failed = await json(await submit(s.url, { processor: 'sleep', params: { ms: 10, fail: true }, input: URL_IN }));
    await until(async () => (await json(await fetch(`${s.url}/v1/jobs/${failed.id}`))).status === 'failed', 15_000);
    const { page, context } = await openUi(browser, s.url);
    await page.selectOption('#filter-status', 'failed');
    await page.waitForFunction(() => {
      const rows = [...(globalThis as any).document.querySelectorAll('li.job')];
      return rows.length > 0 && rows.every((r: any) => r.dataset.status === 'failed');
    });
    await page.click(`li.job[data-id="${failed.id}"] .job-link`);
    await page.waitForSelector('#detail[data-status="failed"]');
    assert.match((await page.locator('#detail .error').textContent()) ?? '', /sleep failed on purpose/);

    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    assert.equal(await page.locator('#filter-status').inputValue(), 'failed');
    assert.ok(new URL(page.url()).searchParams.get('status') === 'failed');
    await page.waitForSelector('#detail[data-status="failed"]');
    assert.match((await page.locator('#detail-title').textContent()) ?? '', /Sleep/);
    assert.ok(await page.locator(`li.job[data-id="${failed.id}"].selected`).count() === 1);

    // A job made by another client shows up without a reload, once it matches the filter.
    const other = await json(await submit(s.url, { processor: 'sleep', params: { ms: 10, fail: true }, input: { url: 'http://127.0.0.1/other' } }));
    await page.locator(`li.job[data-id="${other.id}"][data-status="failed"]`).waitFor({ timeout: 15_000 });
    const statuses = await page.locator('li.job').evaluateAll((els: any[]) => els.map((e) => e.dataset.status));
    assert.ok(statuses.every((x) => x === 'failed'), statuses.join(','));
    await context.close();
  });

  test('without JavaScript the page is the plain form that posts an image to /ocr', async () => {
    const { page, context } = await openUi(browser, s.url, { javaScriptEnabled: false });
    const form = page.locator('form[action="/ocr"][method="post"][enctype="multipart/form-data"]');
    assert.equal(await form.count(), 1);
    assert.equal(await page.locator('#processor').isVisible(), false, 'enhanced controls stay hidden');
    await page.setInputFiles('form[action="/ocr"] input[type="file"][name="file"]', { name: 'hello.png', mimeType: 'image/png', buffer: textPng });
    await screenshot(page, 'no-js-form');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/ocr'), { timeout: 60_000 }), page.click('form[action="/ocr"] button[type="submit"]')]);
    assert.equal(response.status(), 200);
    const body = await response.json();
    assert.match(body.text, /Hello\s+Mediaflow/);
    await context.close();
  });

  test('a server with API keys: the page asks for the key, keeps it, and then lists and follows jobs', async () => {
    const key = 'ui-test-key-123';
    const locked = await startServer({ apiKeys: [key], network: { allowPrivate: true } });
    try {
      const job = await json(await submit(locked.url, { processor: 'sleep', params: { ms: 1500 }, input: URL_IN }, { authorization: `Bearer ${key}` }));
      const { page, context } = await openUi(browser, locked.url);
      assert.equal(await page.locator('#settings').getAttribute('open'), '', 'settings opened by the 401');
      assert.match((await page.locator('#boot-error').textContent()) ?? '', /needs an API key.*UNAUTHORIZED/);
      await page.fill('#api-key', key);
      await page.click('#settings-form button[type="submit"]');
      await page.waitForURL(locked.url + '/', { waitUntil: 'load' });
      await page.waitForSelector('html[data-ready="true"]');
      await page.waitForSelector('#live[data-state="open"]');
      // Followed live through the key-authenticated event stream, to the end.
      await page.locator(`li.job[data-id="${job.id}"][data-status="succeeded"]`).waitFor({ timeout: 15_000 });
      assert.equal(await page.locator('#boot-error').isHidden(), true);
      await context.close();
    } finally {
      await locked.close();
    }
  });

  test('narrow screen and dark scheme: one column, nothing wider than the screen, controls labelled', async () => {
    const { page, context, errors } = await openUi(browser, s.url, { viewport: { width: 380, height: 800 }, colorScheme: 'dark' });
    const overflow = await page.evaluate(() => {
      const d = (globalThis as any).document.documentElement;
      return d.scrollWidth - d.clientWidth;
    });
    assert.ok(overflow <= 0, `page scrolls sideways by ${overflow}px`);
    const bg = await page.evaluate(() => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor);
    assert.equal(bg, 'rgb(15, 18, 22)', 'dark background');
    // Every form control has an accessible name.
    const unnamed = await page.evaluate(() => {
      const doc = (globalThis as any).document;
      return [...doc.querySelectorAll('input, select, button, textarea')].filter((el: any) => {
        if (el.closest('[hidden]') || el.type === 'hidden') return false;
        const label = el.labels?.length || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby') || (el.tagName === 'BUTTON' && el.textContent.trim());
        return !label;
      }).map((el: any) => el.outerHTML.slice(0, 80));
    });
    assert.deepEqual(unnamed, []);
    // Keyboard: the processor picker is reachable with Tab and changes with the arrow keys.
    await page.locator('#processor').focus();
    const before = await page.locator('#processor').inputValue();
    await page.keyboard.press('ArrowDown');
    assert.notEqual(await page.locator('#processor').inputValue(), before);
    await screenshot(page, 'narrow-dark');
    assert.deepEqual(errors, []);
    await context.close();
  });
});
