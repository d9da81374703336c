import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { openRuntime } from '../../src/runtime.js';
import { storedBlobs, walk } from '../helpers/data-walk.js';
import { json, spawnServer, submit, tempDir, testConfig, until } from '../helpers/server.js';

const URL_IN = { url: 'http://127.0.0.1/' };
const ENV = { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1', MEDIAFLOW_BLOBS_GRACE_MS: '0', MEDIAFLOW_BLOBS_SWEEP_MS: '1000' };

/** Blobs that no job references, and job scratch files, left in the data folder. */
async function leftovers(data: string): Promise<{ unreferenced: string[]; scratch: string[]; partial: string[] }> {
  const rt = await openRuntime(testConfig({ data }));
  try {
    const blobs = storedBlobs(data);
    const referenced = await rt.store.referencedBlobs(blobs);
    return {
      unreferenced: blobs.filter((b) => !referenced.has(b)),
      // Live processes keep an (empty) folder of their own; files in it are a job's scratch.
      scratch: walk(path.join(data, 'tmp')),
      partial: walk(path.join(data, 'blobs', '.tmp')),
    };
  } finally {
    await rt.close();
  }
}

test('DELETE of a running job cancels it, waits for its worker, and leaves no file behind', async () => {
  const data = tempDir();
  const server = await spawnServer(data, ENV);
  try {
    const job = await json(await submit(server.url, { processor: 'sleep', params: { ms: 3000, output: true, scratch: true }, input: URL_IN }));
    await until(async () => (await json(await fetch(`${server.url}/v1/jobs/${job.id}`))).outputs.length > 0, 30_000, 20);
    const del = await fetch(`${server.url}/v1/jobs/${job.id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await fetch(`${server.url}/v1/jobs/${job.id}`)).status, 404);
    const left = await until(async () => {
      const l = await leftovers(data);
      return l.unreferenced.length === 0 && l.scratch.length === 0 ? l : null;
    }, 15_000, 250);
    assert.deepEqual(left.partial, []);
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('kill -9 of the whole server while jobs write: after a restart, the jobs finish and nothing unreferenced is left', async () => {
  const data = tempDir();
  let server = await spawnServer(data, ENV, ['--workers', '2']);
  const ids: string[] = [];
  try {
    for (let i = 0; i < 6; i++) ids.push((await json(await submit(server.url, { processor: 'sleep', params: { ms: 2000, output: true, scratch: true }, input: URL_IN }))).id);
    await until(async () => walk(path.join(data, 'tmp')).length >= 2, 30_000, 20);
    process.kill(-server.proc.pid!, 'SIGKILL');
    await new Promise((r) => server.proc.once('exit', r));
    assert.ok(walk(path.join(data, 'tmp')).length >= 2, 'the killed workers left scratch files behind');
    server = await spawnServer(data, ENV, ['--workers', '2']);
    for (const id of ids) {
      const j = await until(async () => { const x = await json(await fetch(`${server.url}/v1/jobs/${id}`)); return x.status === 'succeeded' ? x : null; }, 60_000, 100);
      assert.equal((await fetch(server.url + j.outputs[0].url)).status, 200);
    }
    const left = await until(async () => {
      const l = await leftovers(data);
      return l.unreferenced.length === 0 && l.scratch.length === 0 && l.partial.length === 0 ? l : null;
    }, 15_000, 250);
    assert.ok(left);
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
