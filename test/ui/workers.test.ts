import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { Browser } from 'playwright-core';
import { launchBrowser, openUi } from '../helpers/browser.js';
import { json, spawnServer, submit, tempDir, until, type SpawnedServer } from '../helpers/server.js';

const URL_IN = { url: 'http://127.0.0.1/' };

let s: SpawnedServer;
let data: string;
let browser: Browser;
before(async () => {
  data = tempDir();
  [s, browser] = await Promise.all([spawnServer(data, { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '300' }, ['--workers', '2']), launchBrowser()]);
});
after(async () => {
  await browser?.close();
  await s?.stop();
  rmSync(data, { recursive: true, force: true });
});

test('GET /v1/workers lists the live worker processes and the queues; a running job shows on its worker', async () => {
  const first = await until(async () => { const w = await json(await fetch(`${s.url}/v1/workers`)); return w.workers.length === 2 ? w : null; }, 30_000, 100);
  for (const w of first.workers) {
    assert.ok(w.processors.includes('sleep'));
    assert.equal(w.running.length, 0);
    assert.ok(Number.isInteger(w.pid) && w.pid > 0);
  }
  const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 3000 }, input: URL_IN }));
  const busy = await until(async () => {
    const w = await json(await fetch(`${s.url}/v1/workers`));
    return w.workers.some((x: { running: string[] }) => x.running.includes(job.id)) ? w : null;
  }, 15_000, 100);
  assert.equal(busy.queues.sleep.running, 1);
  await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
});

test('the web UI\'s Workers panel shows both workers', async () => {
  const { page, context, errors } = await openUi(browser, s.url);
  try {
    await page.locator('#workers summary').click();
    await page.locator('#workers tbody tr').nth(1).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#workers tbody tr').count(), 2);
    assert.match((await page.locator('#workers tbody tr').first().textContent()) ?? '', /sleep/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
