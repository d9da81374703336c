import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { json, startServer, tempDir, until, type InProcessServer } from '../helpers/server.js';
import { renderText } from '../helpers/text-images.js';
import { patternBytes, sha256, startTestServer, type TestServer } from '../helpers/http-server.js';

function form(field: string, bytes: Buffer, name: string) {
  const f = new FormData();
  f.set(field, new Blob([bytes]), name);
  return f;
}

describe('seed 001 (upscale): the seed\'s own five tests, as its client would run them', () => {
  let s: InProcessServer;
  let png: Buffer;
  before(async () => {
    s = await startServer();
    png = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 40, b: 90 } } })
      .composite([{ input: Buffer.from('<svg width="48" height="32"><circle cx="24" cy="16" r="10" fill="white"/></svg>') }]).png().toBuffer();
  });
  after(async () => { await s.close(); });

  test('unknown task id → 404 task not found', async () => {
    const res = await fetch(`${s.url}/tasks/00000000-0000-0000-0000-000000000000`);
    assert.equal(res.status, 404);
    assert.deepEqual(await res.json(), { error: 'task not found' });
  });

  test('task without a file → 400', async () => {
    const res = await fetch(`${s.url}/upscale`, { method: 'POST', body: new FormData() });
    assert.equal(res.status, 400);
    assert.ok((await json(res)).error);
  });

  test('task with a bad file → 400 (wrong extension, or content that is not the image type)', async () => {
    const txt = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', Buffer.from('hello'), 'notes.txt') });
    assert.equal(txt.status, 400);
    const gif = await sharp({ create: { width: 4, height: 4, channels: 3, background: 'red' } }).gif().toBuffer();
    const fake = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', gif, 'fake.png') });
    assert.equal(fake.status, 400);
    assert.match((await json(fake)).error, /image\/gif/);
  });

  test('a new file is polled to SUCCESS within 60 s; the same name is then "already processed" with no new job', async () => {
    const name = `new-${Date.now()}.png`;
    const res = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', png, name) });
    assert.equal(res.status, 202);
    const body = await json(res);
    assert.equal(body.status, 'PENDING');
    assert.equal(body.status_url, `/tasks/${body.task_id}`);
    // While it runs, the same name answers "wait" with the same task.
    const again = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', png, name) });
    const againBody = await json(again);
    if (again.status === 202) {
      assert.equal(againBody.task_id, body.task_id);
      assert.match(againBody.message, /being processed/);
    }
    const final = await until(async () => {
      const t = await json(await fetch(`${s.url}${body.status_url}`));
      return ['SUCCESS', 'FAILURE'].includes(t.status) && t;
    }, 60_000, 250);
    assert.equal(final.status, 'SUCCESS', JSON.stringify(final));
    assert.equal(final.result.url, `/processed/${name}`);
    const img = await fetch(`${s.url}${final.result.url}`);
    assert.equal(img.status, 200);
    assert.equal(img.headers.get('content-type'), 'image/png');
    const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [96, 64]);
    const jobsBefore = (await json(await fetch(`${s.url}/v1/jobs?processor=upscale&limit=500`))).items.length;
    const done = await fetch(`${s.url}/upscale`, { method: 'POST', body: form('image', png, name) });
    assert.equal(done.status, 200);
    const doneBody = await json(done);
    assert.match(doneBody.message, /already processed/);
    assert.equal(doneBody.url, `/processed/${name}`);
    assert.equal((await json(await fetch(`${s.url}/v1/jobs?processor=upscale&limit=500`))).items.length, jobsBefore);
    // The task is a job like any other.
    assert.equal((await json(await fetch(`${s.url}/v1/jobs/${body.task_id}`))).status, 'succeeded');
  });

  test('/processed of an unknown name → 404', async () => {
    assert.equal((await fetch(`${s.url}/processed/nothing-here.png`)).status, 404);
  });
});

describe('seed 002 (OCR)', () => {
  let s: InProcessServer;
  let dir: string;
  before(async () => { s = await startServer(); dir = tempDir(); });
  after(async () => { await s.close(); await rm(dir, { recursive: true, force: true }); });

  test('GET / holds a plain form posting a file field to /ocr', async () => {
    const html = await (await fetch(`${s.url}/`)).text();
    assert.match(html, /<form[^>]*action="\/ocr"[^>]*>/);
    assert.match(html, /enctype="multipart\/form-data"/);
    assert.match(html, /<input[^>]*type="file"[^>]*name="file"|<input[^>]*name="file"[^>]*type="file"/);
  });

  test('POST /ocr answers the recognised text synchronously, and the job is in /v1/jobs', async () => {
    const file = await renderText(dir, 'hello.png', 'Compatible routes still answer', { pointsize: 40 });
    const res = await fetch(`${s.url}/ocr`, { method: 'POST', body: form('file', await readFile(file), 'hello.png') });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.match(body.text, /Compatible routes still answer/);
    assert.ok(Array.isArray(body.lines) || Array.isArray(body.blocks));
    const job = await json(await fetch(`${s.url}/v1/jobs/${body.job_id}`));
    assert.equal(job.processor, 'ocr');
    assert.equal(job.meta.source, 'compat:seed002');
  });

  test('POST /ocr without a file, or with a non-image → 400 {"error"}', async () => {
    const none = await fetch(`${s.url}/ocr`, { method: 'POST', body: new FormData() });
    assert.equal(none.status, 400);
    assert.ok((await json(none)).error);
    const txt = await fetch(`${s.url}/ocr`, { method: 'POST', body: form('file', Buffer.from('just text'), 'x.png') });
    assert.ok([400, 415].includes(txt.status));
    assert.ok((await json(txt)).error);
  });
});

describe('seed 004 (downloads)', () => {
  let s: InProcessServer;
  let origin: TestServer;
  const body = patternBytes(300_000, 7);
  before(async () => {
    s = await startServer({ network: { allowPrivate: true } });
    origin = await startTestServer();
    origin.route('/files/clip.bin', { kind: 'file', body, contentType: 'application/octet-stream' });
  });
  after(async () => { await s.close(); await origin.close(); });

  async function finished(taskId: string) {
    return until(async () => {
      const t = await json(await fetch(`${s.url}/tasks/${taskId}`));
      return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(t.status) && t;
    }, 30_000, 100);
  }

  test('POST /download/file takes url from JSON, form or query string; /tasks lists the files', async () => {
    const url = `${origin.origin}/files/clip.bin`;
    const viaJson = await json(await fetch(`${s.url}/download/file`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) }));
    const viaForm = await json(await fetch(`${s.url}/download/file`, { method: 'POST', body: new URLSearchParams({ url }) }));
    const viaQuery = await json(await fetch(`${s.url}/download/file?url=${encodeURIComponent(url)}`, { method: 'POST' }));
    for (const r of [viaJson, viaForm, viaQuery]) assert.equal(typeof r.task_id, 'string');
    const t = await finished(viaJson.task_id);
    assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
    assert.equal(t.files.length, 1);
    assert.equal(t.files[0].size, body.length);
    const bytes = Buffer.from(await (await fetch(`${s.url}${t.files[0].url}`)).arrayBuffer());
    assert.equal(sha256(bytes), sha256(body));
    assert.equal((await finished(viaQuery.task_id)).status, 'SUCCESS');
  });

  test('a missing url is refused with 422 and {"error"}; a bad URL fails clearly', async () => {
    const res = await fetch(`${s.url}/download/file`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    assert.equal(res.status, 422);
    assert.match((await json(res)).error, /url/);
    const stream = await fetch(`${s.url}/download/stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ recording_duration: 5 }) });
    assert.equal(stream.status, 422);
    const file = await fetch(`${s.url}/download/file`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: 'file:///etc/passwd' }) });
    assert.ok(file.status >= 400 && file.status < 500);
  });

  test('POST /download/stream queues a record-stream job with the seed\'s parameters', async () => {
    const r = await json(await fetch(`${s.url}/download/stream?playlist_url=${encodeURIComponent(`${origin.origin}/live/none.m3u8`)}&recording_duration=3&max_fragment_duration=2`, { method: 'POST' }));
    const job = await json(await fetch(`${s.url}/v1/jobs/${r.task_id}`));
    assert.equal(job.processor, 'record-stream');
    assert.equal(job.params.recording_duration, 3);
    assert.equal(job.params.max_fragment_duration, 2);
    await fetch(`${s.url}/v1/jobs/${r.task_id}/cancel`, { method: 'POST' });
  });
});

void path;
