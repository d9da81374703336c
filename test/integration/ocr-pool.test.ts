import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { resolveLanguages } from '../../src/processors/ocr/ocr.languages.js';
import { OcrPool } from '../../src/processors/ocr/ocr.pool.js';
import { paragraph, renderText } from '../helpers/text-images.js';

// The pool on its own, with real tesseract.js workers: queueing, eviction, cancellation of a queued
// job, idle expiry and shutdown.

let dir: string;
let word: Buffer;
let page: Buffer;
const eng = resolveLanguages('eng');
const text = { text: true } as const;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ocr-pool-'));
  word = await readFile(await renderText(dir, 'word.png', 'Pooled'));
  page = await readFile(await renderText(dir, 'page.png', paragraph('A page long enough to keep a worker busy for a while, line after line.', 6)));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('size 1: a job for another key waits, then evicts the idle worker; never more than one worker', async () => {
  const pool = new OcrPool({ size: 1 });
  try {
    let maxWorkers = 0;
    const watch = setInterval(() => { maxWorkers = Math.max(maxWorkers, pool.stats().workers + pool.stats().creating); }, 5);
    const a = pool.recognize({ langs: eng, psm: 3 }, page, { output: text });
    const b = pool.recognize({ langs: eng, psm: 7 }, word, { output: text });
    await sleep(0);
    assert.equal(pool.stats().waiting, 1, 'the second job waits for the only slot');
    const [ra, rb] = await Promise.all([a, b]);
    clearInterval(watch);
    assert.match(ra.text, /keep a worker busy/);
    assert.equal(rb.text.trim(), 'Pooled');
    const s = pool.stats();
    assert.equal(maxWorkers, 1);
    assert.deepEqual(s.keys, { 'eng|psm7': 1 });
    assert.equal(s.created, 2);
    assert.equal(s.terminated, 1);
  } finally {
    await pool.shutdown();
  }
});

test('a queued job canceled while waiting leaves the pool clean, and the worker is reused after', async () => {
  const pool = new OcrPool({ size: 1 });
  try {
    const running = pool.recognize({ langs: eng, psm: 3 }, page, { output: text });
    const controller = new AbortController();
    const queued = pool.recognize({ langs: eng, psm: 3 }, word, { output: text, signal: controller.signal });
    await sleep(0);
    assert.equal(pool.stats().waiting, 1);
    controller.abort();
    await assert.rejects(queued, { name: 'AbortError' });
    assert.equal(pool.stats().waiting, 0);
    assert.match((await running).text, /line after line/);
    const again = await pool.recognize({ langs: eng, psm: 3 }, word, { output: text });
    assert.equal(again.text.trim(), 'Pooled');
    const s = pool.stats();
    assert.equal(s.created, 1, 'one worker served all three');
    assert.equal(s.jobs, 2, 'the canceled job never reached the engine');
    assert.equal(s.busy, 0);
  } finally {
    await pool.shutdown();
  }
});

test('idle workers are ended after idleTimeoutMs; shutdown ends the rest and the pool stays usable', async () => {
  const pool = new OcrPool({ size: 2, idleTimeoutMs: 100 });
  try {
    await pool.recognize({ langs: eng, psm: 3 }, word, { output: text });
    assert.equal(pool.stats().workers, 1);
    await sleep(400);
    assert.equal(pool.stats().workers, 0, 'the idle worker was given back');
    assert.equal(pool.stats().terminated, 1);

    await Promise.all([
      pool.recognize({ langs: eng, psm: 3 }, word, { output: text }),
      pool.recognize({ langs: eng, psm: 3 }, word, { output: text }),
    ]);
    // Two at once need two workers, unless the first finished before the second started (a loaded machine).
    const workers = pool.stats().workers;
    assert.ok(workers >= 1 && workers <= 2, `workers: ${workers}`);
    await pool.shutdown();
    assert.equal(pool.stats().workers, 0);
    // Every worker the pool made has ended (by idling out or by the shutdown).
    assert.equal(pool.stats().terminated, pool.stats().created);
    const r = await pool.recognize({ langs: eng, psm: 3 }, word, { output: text });
    assert.equal(r.text.trim(), 'Pooled');
  } finally {
    await pool.shutdown();
  }
});
