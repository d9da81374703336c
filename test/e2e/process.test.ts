import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { json, spawnServer, submit, tempDir, until } from '../helpers/server.js';

const ENV = { MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1', MEDIAFLOW_WORKERS_LEASE_MS: '2000', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '300', MEDIAFLOW_WORKERS_POLL_MS: '200' };
const URL_IN = { url: 'http://127.0.0.1/' };

test('a server killed with SIGKILL mid-job (with its workers) finishes the job after a restart', async () => {
  const data = tempDir();
  let s = await spawnServer(data, ENV);
  try {
    const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 3000 }, input: URL_IN }));
    await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'running' && j.progress > 0; });
    // The whole process tree dies at once, as on a power cut: nobody hands the job back.
    process.kill(-s.proc.pid!, 'SIGKILL');
    await new Promise((r) => s.proc.once('exit', r));
    s = await spawnServer(data, ENV);
    const done = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'succeeded' && j; }, 30_000, 200);
    assert.equal(done.attempts, 2, 'the interrupted attempt counts, the second one finished');
    assert.deepEqual(done.result, { slept: 3000 });
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('a job that kills its worker every time ends failed with WORKER_CRASHED, and the server keeps working', async () => {
  const data = tempDir();
  const s = await spawnServer(data, ENV);
  try {
    const job = await json(await submit(s.url, { processor: 'crash', input: URL_IN }));
    const failed = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'failed' && j; }, 45_000, 200);
    assert.equal(failed.error.code, 'WORKER_CRASHED');
    assert.equal(failed.attempts, 3);
    // The restarted worker still runs other jobs.
    const ok = await json(await submit(s.url, { processor: 'noop', params: { value: 'after' }, input: URL_IN }, { prefer: 'wait=20' }));
    assert.equal(ok.status, 'succeeded');
  } finally {
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
});

test('split mode: serve --no-workers queues, a separate `mediaflow worker` runs the job', async () => {
  const data = tempDir();
  const s = await spawnServer(data, ENV, ['--no-workers']);
  const { spawn } = await import('node:child_process');
  const { CLI, ROOT } = await import('../helpers/server.js');
  let worker: ReturnType<typeof spawn> | null = null;
  try {
    const job = await json(await submit(s.url, { processor: 'noop', params: { value: 'split' }, input: URL_IN }));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await json(await fetch(`${s.url}/v1/jobs/${job.id}`))).status, 'queued');
    worker = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--data', data], { cwd: ROOT, env: { ...process.env, ...ENV, MEDIAFLOW_ENABLE_TEST_PROCESSORS: '1', MEDIAFLOW_LOG_LEVEL: 'warn' }, stdio: 'ignore' });
    const done = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return j.status === 'succeeded' && j; }, 30_000, 100);
    assert.deepEqual(done.result, { ok: true, value: 'split' });
  } finally {
    worker?.kill('SIGTERM');
    await s.stop();
    rmSync(data, { recursive: true, force: true });
  }
});
