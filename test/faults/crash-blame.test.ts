import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { json, spawnServer, submit, tempDir, until } from '../helpers/server.js';

const URL_IN = { url: 'http://127.0.0.1/' };

/**
 * Three jobs share a worker process with a job that kills it (kill -9 of itself). Only the culprit
 * may end `failed` with WORKER_CRASHED; its neighbours run again and succeed.
 */
test('a job that kills its worker is blamed alone; its neighbours succeed', async () => {
  const data = tempDir();
  const server = await spawnServer(data, { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1' });
  try {
    const neighbours: Array<{ id: string }> = [];
    for (let i = 0; i < 3; i++) neighbours.push(await json(await submit(server.url, { processor: 'sleep', params: { ms: 1500 }, input: URL_IN })));
    await until(async () => {
      const list = await Promise.all(neighbours.map(async (j) => (await json(await fetch(`${server.url}/v1/jobs/${j.id}`))).status));
      return list.every((s) => s === 'running');
    }, 30_000, 20);
    const culprit = await json(await submit(server.url, { processor: 'crash', input: URL_IN }));
    const ended = async (id: string) => {
      const j = await json(await fetch(`${server.url}/v1/jobs/${id}`));
      return ['succeeded', 'failed', 'canceled'].includes(j.status) ? j : null;
    };
    const bad = await until(() => ended(culprit.id), 90_000, 100);
    assert.equal(bad.status, 'failed');
    assert.equal(bad.error.code, 'WORKER_CRASHED');
    for (const n of neighbours) {
      const j = await until(() => ended(n.id), 60_000, 100);
      assert.equal(j.status, 'succeeded', `neighbour ${n.id} ended ${j.status} ${JSON.stringify(j.error)}`);
    }
    // And the server still works.
    const after = await submit(server.url, { processor: 'sleep', params: { ms: 10 }, input: URL_IN }, { prefer: 'wait=30' });
    assert.equal((await json(after)).status, 'succeeded');
  } finally {
    await server.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
