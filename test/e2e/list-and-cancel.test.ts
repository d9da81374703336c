import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { startServer, json, submit, until, type InProcessServer } from '../helpers/server.js';

const URL_IN = { url: 'http://127.0.0.1/' };

/** A PCM WAV of `seconds` of a quiet 440 Hz tone, 44.1 kHz stereo 16-bit. */
function wav(seconds: number): Buffer {
  const rate = 44_100;
  const frames = Math.round(rate * seconds);
  const data = Buffer.alloc(frames * 4);
  for (let i = 0; i < frames; i++) {
    const v = Math.round(3000 * Math.sin((2 * Math.PI * 440 * i) / rate));
    data.writeInt16LE(v, i * 4);
    data.writeInt16LE(v, i * 4 + 2);
  }
  const h = Buffer.alloc(44);
  h.write('RIFF', 0); h.writeUInt32LE(36 + data.length, 4); h.write('WAVE', 8);
  h.write('fmt ', 12); h.writeUInt32LE(16, 16); h.writeUInt16LE(1, 20); h.writeUInt16LE(2, 22);
  h.writeUInt32LE(rate, 24); h.writeUInt32LE(rate * 4, 28); h.writeUInt16LE(4, 32); h.writeUInt16LE(16, 34);
  h.write('data', 36); h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

describe('GET /v1/jobs lists summaries', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ network: { allowPrivate: true } }); });
  after(async () => { await s.close(); });

  test('without its result unless include=result', async () => {
    const done = await json(await submit(s.url, { processor: 'sleep', params: { ms: 20, output: true }, input: URL_IN }, { prefer: 'wait=30' }));
    assert.equal(done.status, 'succeeded');
    const list = await json(await fetch(`${s.url}/v1/jobs`));
    const item = list.items.find((j: { id: string }) => j.id === done.id);
    assert.ok(item);
    assert.ok(!('result' in item), 'a list item carries no result');
    assert.equal(item.outputs[0].name, 'hello.txt');
    assert.equal(item.links.self, `/v1/jobs/${done.id}`);
    const full = await json(await fetch(`${s.url}/v1/jobs?include=result`));
    assert.deepEqual(full.items.find((j: { id: string }) => j.id === done.id).result, { slept: 20 });
    assert.deepEqual((await json(await fetch(`${s.url}${item.links.self}`))).result, { slept: 20 });
    const bad = await fetch(`${s.url}/v1/jobs?include=everything`);
    assert.equal(bad.status, 400);
    assert.equal((await json(bad)).code, 'INVALID_REQUEST');
  });
});

describe('a compat request whose job is canceled', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({}, { worker: false }); });
  after(async () => { await s.close(); });

  async function cancelWhileWaiting(path: string, form: FormData, processor: string) {
    const pending = fetch(`${s.url}${path}`, { method: 'POST', body: form });
    const job = await until(async () => (await json(await fetch(`${s.url}/v1/jobs?processor=${processor}&status=queued`))).items[0]);
    assert.equal((await fetch(`${s.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' })).status, 200);
    return pending;
  }

  test('POST /process_song answers 409 JOB_CANCELED, as /ocr does, not 500', async () => {
    const song = new FormData();
    song.set('file', new Blob([wav(1)]), 'song.wav');
    const res = await cancelWhileWaiting('/process_song', song, 'separate');
    const body = await json(res);
    assert.equal(res.status, 409, JSON.stringify(body));
    assert.equal(body.code, 'JOB_CANCELED');
    assert.equal(typeof body.error, 'string');

    const page = new FormData();
    page.set('file', new Blob([await sharp({ create: { width: 16, height: 16, channels: 3, background: '#fff' } }).png().toBuffer()]), 'page.png');
    const ocr = await cancelWhileWaiting('/ocr', page, 'ocr');
    assert.equal(ocr.status, 409);
    assert.equal((await json(ocr)).code, 'JOB_CANCELED');
  });
});
