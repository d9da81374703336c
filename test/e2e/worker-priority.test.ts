import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { json, spawnServer, submit, tempDir, until, type SpawnedServer } from '../helpers/server.js';

const ENV = { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1' };
const URL_IN = { url: 'http://127.0.0.1/' };

/** The worker processes forked by a `serve` (`… worker --child`), among its other children. */
function workersOf(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`)
    .flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number))
    .filter((child) => readFileSync(`/proc/${child}/cmdline`, 'utf8').split('\0').join(' ').includes('worker --child'));
}

/** The nice value of every thread of a process. */
function threadPriorities(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => os.getPriority(Number(tid)));
}

/** Waits until the server's worker has run a job, so that it is fully started; returns its pid. */
async function readyWorker(s: SpawnedServer): Promise<number> {
  const job = await json(await submit(s.url, { processor: 'noop', params: { value: 'ready' }, input: URL_IN }));
  await until(async () => (await json(await fetch(`${s.url}/v1/jobs/${job.id}`))).status === 'succeeded', 60_000, 100);
  const workers = workersOf(s.proc.pid!);
  assert.equal(workers.length, 1, 'one worker process');
  return workers[0]!;
}

test('worker processes run at a lower OS priority than the API process (workers.nice, default 10)', async () => {
  const data = tempDir();
  const s = await spawnServer(data, ENV);
  try {
    const worker = await readyWorker(s);
    const api = os.getPriority(s.proc.pid!);
    assert.ok(os.getPriority(worker) > api, `worker nice ${os.getPriority(worker)}, API nice ${api}`);
    assert.equal(os.getPriority(worker), Math.min(19, api + 10));
    // Linux keeps a nice value per thread: the runtime's threads (GC, libuv pool) are lowered too.
    for (const p of threadPriorities(worker)) assert.equal(p, Math.min(19, api + 10));
    // The API's own threads are left alone.
    for (const p of threadPriorities(s.proc.pid!)) assert.equal(p, api);
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('workers.nice = 0 leaves the workers at the API\'s priority', async () => {
  const data = tempDir();
  const s = await spawnServer(data, { ...ENV, MEDIAFLOW_WORKERS_NICE: '0' });
  try {
    const worker = await readyWorker(s);
    assert.equal(os.getPriority(worker), os.getPriority(s.proc.pid!));
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
