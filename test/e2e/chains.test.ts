import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import { makeSong, readAudio } from '../helpers/audio-fixtures.js';
import { siSdr } from '../helpers/audio-metrics.js';
import { startTestServer, type TestServer } from '../helpers/http-server.js';
import { json, spawnServer, spawnWorker, startServer, submit, tempDir, until, upload, type InProcessServer } from '../helpers/server.js';

const URL_IN = { url: 'http://127.0.0.1/' };
const ended = (s: string) => ['succeeded', 'failed', 'canceled'].includes(s);

async function finished(url: string, id: string, ms = 240_000) {
  return until(async () => { const j = await json(await fetch(`${url}/v1/jobs/${id}`)); return ended(j.status) ? j : null; }, ms, 100);
}

async function stem(url: string, job: { outputs: Array<{ name: string; url: string }> }, name: string, dir: string) {
  const out = job.outputs.find((o) => o.name === name)!;
  const file = path.join(dir, `${Math.random().toString(36).slice(2)}-${name}`);
  await writeFile(file, Buffer.from(await (await fetch(url + out.url)).arrayBuffer()));
  return readAudio(file);
}

describe('chained jobs over real HTTP', () => {
  let s: InProcessServer;
  let web: TestServer;
  let dir: string;
  let song: Buffer;
  before(async () => {
    [s, web] = await Promise.all([startServer({ network: { allowPrivate: true } }), startTestServer()]);
    dir = tempDir();
    const file = path.join(dir, 'song.flac');
    await makeSong(dir, 4, file, { codecArgs: ['-c:a', 'flac'] });
    song = await readFile(file);
  });
  after(async () => {
    await s.close();
    await web.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('download → separate (POST /v1/chains): the stems match a direct separation of the same file', async () => {
    const songUrl = web.route('/music/song.flac', { kind: 'file', body: song, contentType: 'audio/flac' });
    const res = await fetch(`${s.url}/v1/chains`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: { url: songUrl }, steps: [{ processor: 'download' }, { processor: 'separate' }] }),
    });
    assert.equal(res.status, 202);
    const chain = await json(res);
    assert.equal(chain.jobs.length, 2);
    assert.deepEqual(chain.jobs.map((j: { processor: string }) => j.processor), ['download', 'separate']);
    assert.ok(['waiting', 'queued'].includes(chain.jobs[1].status));
    assert.equal(chain.jobs[1].upstream.job, chain.jobs[0].id);
    // The chain's event stream ends once both jobs have ended.
    const sse = await fetch(`${s.url}/v1/chains/${chain.id}/events`, { headers: { accept: 'text/event-stream' } });
    const text = await sse.text();
    assert.match(text, /event: done\ndata: \{"type":"chain-done"/);
    const chained = await finished(s.url, chain.jobs[1].id);
    assert.equal(chained.status, 'succeeded', JSON.stringify(chained.error));
    assert.equal(chained.input.kind, 'file');
    const direct = await json(await upload(s.url, 'separate', song, 'song.flac', {}, { prefer: 'wait=300' }));
    assert.equal(direct.status, 'succeeded');
    assert.notEqual(direct.id, chained.id, 'a job of its own, not a dedup of the chained one');
    for (const name of ['vocals.wav', 'no_vocals.wav']) {
      const sdr = siSdr(await stem(s.url, chained, name, dir), await stem(s.url, direct, name, dir));
      assert.ok(sdr > 60, `${name}: chained vs direct SI-SDR ${sdr.toFixed(1)} dB`);
    }
  });

  test('segment → upscale on the largest object\'s crop (input.job + input.output on /v1/jobs)', async () => {
    const img = await sharp({ create: { width: 160, height: 120, channels: 3, background: '#f4f4f4' } })
      .composite([
        { input: await sharp({ create: { width: 60, height: 40, channels: 3, background: '#202060' } }).png().toBuffer(), left: 20, top: 30 },
        { input: await sharp({ create: { width: 20, height: 20, channels: 3, background: '#602020' } }).png().toBuffer(), left: 120, top: 80 },
      ]).png().toBuffer();
    const seg = await json(await upload(s.url, 'segment', img, 'two-boxes.png', { crop: 'true' }));
    const up = await json(await submit(s.url, { processor: 'upscale', params: { scale: 2 }, input: { job: seg.id, output: 'crop.png' } }));
    const done = await finished(s.url, up.id);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.deepEqual(done.upstream, { job: seg.id, output: 'crop.png', url: `/v1/jobs/${seg.id}` });
    const meta = await sharp(Buffer.from(await (await fetch(s.url + done.outputs[0].url)).arrayBuffer())).metadata();
    assert.deepEqual([meta.width, meta.height], [120, 80], 'twice the 60×40 crop of the largest box');
    // The same reference again joins the same job (dedup by the upstream output).
    const again = await submit(s.url, { processor: 'upscale', params: { scale: 2 }, input: { job: seg.id, output: 'crop.png' } });
    assert.equal((await json(again)).id, up.id);
  });

  test('failure paths: upstream fails, is canceled, lacks the output; unknown job and half a reference are 400', async () => {
    const failing = await json(await submit(s.url, { processor: 'sleep', params: { ms: 50, fail: true }, input: URL_IN }));
    const d1 = await json(await submit(s.url, { processor: 'checksum', input: { job: failing.id, output: 'hello.txt' } }));
    const f1 = await finished(s.url, d1.id, 30_000);
    assert.equal(f1.status, 'failed');
    assert.equal(f1.error.code, 'UPSTREAM_FAILED');

    const slow = await json(await submit(s.url, { processor: 'sleep', params: { ms: 20_000 }, input: URL_IN }));
    const d2 = await json(await submit(s.url, { processor: 'checksum', input: { job: slow.id, output: 'hello.txt' } }));
    assert.equal(d2.status, 'waiting');
    await fetch(`${s.url}/v1/jobs/${slow.id}/cancel`, { method: 'POST' });
    const c2 = await finished(s.url, d2.id, 30_000);
    assert.equal(c2.status, 'canceled');
    assert.match(c2.error.message, new RegExp(`job ${slow.id}`));

    const quiet = await json(await submit(s.url, { processor: 'sleep', params: { ms: 30 }, input: URL_IN }));
    const d3 = await json(await submit(s.url, { processor: 'checksum', input: { job: quiet.id, output: 'nothing.bin' } }));
    const f3 = await finished(s.url, d3.id, 30_000);
    assert.equal(f3.status, 'failed');
    assert.equal(f3.error.code, 'UPSTREAM_OUTPUT_MISSING');

    const unknown = await submit(s.url, { processor: 'checksum', input: { job: '00000000-0000-0000-0000-000000000000', output: 'x' } });
    assert.equal(unknown.status, 400);
    assert.equal((await json(unknown)).code, 'UPSTREAM_UNKNOWN');
    const half = await submit(s.url, { processor: 'checksum', input: { job: quiet.id } });
    assert.equal(half.status, 400);
    const both = await submit(s.url, { processor: 'checksum', input: { job: quiet.id, output: 'x', url: 'http://127.0.0.1/' } });
    assert.equal(both.status, 400);
    const urlStep = await fetch(`${s.url}/v1/chains`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input: URL_IN, steps: [{ processor: 'sleep' }, { processor: 'download' }] }),
    });
    assert.equal(urlStep.status, 400, 'a step that takes a URL cannot follow another');
  });
});

test('kill -9 between the upstream job\'s success and the downstream job\'s start: after a restart the chain finishes', async () => {
  const data = tempDir();
  // Split mode: the only worker runs `sleep`, so the downstream `checksum` job cannot start before the kill.
  let server = await spawnServer(data, { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1' }, ['--no-workers']);
  const worker = spawnWorker(data, { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1' }, ['--only', 'sleep']);
  try {
    await worker.ready;
    const up = await json(await submit(server.url, { processor: 'sleep', params: { ms: 300, output: true }, input: URL_IN }));
    const down = await json(await submit(server.url, { processor: 'checksum', input: { job: up.id, output: 'hello.txt' } }));
    assert.equal(down.status, 'waiting');
    await until(async () => (await json(await fetch(`${server.url}/v1/jobs/${up.id}`))).status === 'succeeded', 30_000, 5);
    assert.equal((await json(await fetch(`${server.url}/v1/jobs/${down.id}`))).status, 'queued', 'released with the upstream success');
    const exited = new Promise((r) => server.proc.once('exit', r));
    process.kill(-server.proc.pid!, 'SIGKILL');
    await worker.kill('SIGKILL');
    await exited;
    server = await spawnServer(data, { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1' });
    const done = await finished(server.url, down.id, 60_000);
    assert.equal(done.status, 'succeeded');
    assert.equal(done.result.size, 6);
    assert.equal(await (await fetch(server.url + done.outputs[0].url)).text(), 'hello\n');
  } finally {
    await server.stop();
    await rm(data, { recursive: true, force: true });
  }
});
