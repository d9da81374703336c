import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { json, startServer, tempDir, type InProcessServer } from '../helpers/server.js';
import { makeSong, readAudio, RATE } from '../helpers/audio-fixtures.js';

let s: InProcessServer;
let dir: string;
let song: Buffer;
const SECONDS = 5;

before(async () => {
  s = await startServer();
  dir = tempDir();
  const file = path.join(dir, 'song.flac');
  await makeSong(dir, SECONDS, file, { codecArgs: ['-c:a', 'flac'] });
  song = await readFile(file);
});
after(async () => { await s.close(); await rm(dir, { recursive: true, force: true }); });

function post(bytes: Buffer | null, name: string) {
  const f = new FormData();
  if (bytes) f.set('file', new Blob([bytes]), name);
  return fetch(`${s.url}/process_song`, { method: 'POST', body: f });
}

test('POST /process_song answers vocals.wav of the song\'s length; the job keeps both stems', async () => {
  const res = await post(song, 'My Song.FLAC');
  assert.equal(res.status, 200, await res.clone().text());
  assert.equal(res.headers.get('content-type'), 'audio/wav');
  assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="vocals\.wav"/);
  const wav = Buffer.from(await res.arrayBuffer());
  assert.equal(wav.subarray(0, 4).toString(), 'RIFF');
  const out = path.join(dir, 'vocals.wav');
  await writeFile(out, wav);
  const vocals = await readAudio(out);
  assert.ok(Math.abs(vocals.left.length - SECONDS * RATE) <= 1, `length ${vocals.left.length}`);
  const job = await json(await fetch(`${s.url}/v1/jobs/${res.headers.get('x-mediaflow-job')}`));
  assert.equal(job.processor, 'separate');
  assert.deepEqual(job.outputs.map((o: { name: string }) => o.name).sort(), ['no_vocals.wav', 'vocals.wav']);
  assert.equal(job.params.overlap, 0.3);
  assert.equal(job.params.shifts, 1);
});

test('POST /process_song refuses what the seed refused, with 400 {"error"}', async () => {
  for (const [bytes, name] of [[null, 'x.wav'], [song, 'song.mp3'], [Buffer.from('RIFF? no, just text'), 'fake.wav'], [Buffer.alloc(0), 'empty.wav']] as const) {
    const res = await post(bytes as Buffer | null, name);
    assert.equal(res.status, 400, `${name}: ${res.status}`);
    assert.equal(typeof (await json(res)).error, 'string');
  }
});
