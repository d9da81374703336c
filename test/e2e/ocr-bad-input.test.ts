import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { json, startServer, sweepBlobs, tempDir, upload, type InProcessServer } from '../helpers/server.js';
import { renderText, writeHugePngHeader } from '../helpers/text-images.js';

let s: InProcessServer;
let dir: string;
before(async () => { s = await startServer(); dir = tempDir(); });
after(async () => { await s.close(); await rm(dir, { recursive: true, force: true }); });

async function expectProblem(res: Response, status: number, code: string) {
  const body = await json(res);
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.code, code);
}

test('an OCR job over HTTP finds the rendered text, with word boxes inside the image', async () => {
  const file = await renderText(dir, 'ok.png', 'Mediaflow reads this line', { pointsize: 40 });
  const job = await json(await upload(s.url, 'ocr', await readFile(file), 'ok.png', {}, { prefer: 'wait=60' }));
  assert.equal(job.status, 'succeeded', JSON.stringify(job.error));
  assert.match(job.result.text, /Mediaflow reads this line/);
  assert.ok(job.outputs.some((o: { name: string }) => o.name === 'text.txt'));
});

test('OCR bad input at submit: truncated PNG, a text file named .png, a 100000×100000 header — clear 4xx, nothing stored', async () => {
  const good = await readFile(await renderText(dir, 't.png', 'truncate me', { pointsize: 30 }));
  await expectProblem(await upload(s.url, 'ocr', good.subarray(0, Math.floor(good.length * 0.6)), 'cut.png'), 400, 'INPUT_CORRUPT');
  await expectProblem(await upload(s.url, 'ocr', Buffer.from('this is plain text, not a picture\n'), 'notes.png'), 415, 'INPUT_UNSUPPORTED_TYPE');
  const huge = await writeHugePngHeader(path.join(dir, 'huge.png'), 100_000, 100_000);
  await expectProblem(await upload(s.url, 'ocr', await readFile(huge), 'huge.png'), 413, 'IMAGE_TOO_LARGE');
  await expectProblem(await upload(s.url, 'ocr', Buffer.alloc(0), 'zero.png'), 400, 'INPUT_EMPTY');
  await expectProblem(await upload(s.url, 'ocr', good, 'x.png', { lang: 'xyz' }), 400, 'OCR_LANG_UNAVAILABLE');
  // None of the refused uploads is left in the blob store once the sweeper has run (a refused upload
  // is not deleted at once: a submit of the same bytes may be racing it).
  await sweepBlobs(s.rt);
  const jobs = await json(await fetch(`${s.url}/v1/jobs?processor=ocr&limit=100`));
  const kept = new Set(jobs.items.map((j: { input: { sha256: string } }) => j.input.sha256));
  const blobs: string[] = [];
  const walk = (d: string) => { for (const e of readdirSync(d, { withFileTypes: true })) { if (e.name === '.tmp') continue; if (e.isDirectory()) walk(path.join(d, e.name)); else blobs.push(e.name); } };
  walk(path.join(s.config.data, 'blobs'));
  for (const b of blobs) assert.ok(kept.has(b) || jobs.items.some((j: { outputs: { sha256: string }[] }) => j.outputs.some((o) => o.sha256 === b)), `orphan blob ${b}`);
  void writeFile;
});
