import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterForTest, clusterUnavailable } from '../helpers/cluster.js';
import { getJob, outputBytes, sleepJob, submitJob, waitStatus } from '../helpers/cluster-jobs.js';
import { postgresBinDir, startPrivatePostgres } from '../helpers/private-postgres.js';
import { json, submit, until } from '../helpers/server.js';

const skip = (await clusterUnavailable()) ?? (postgresBinDir() ? null : 'PostgreSQL server binaries are not installed');
const FAST = { MEDIAFLOW_WORKERS_LEASE_MS: '3000', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '500', MEDIAFLOW_WORKERS_POLL_MS: '50' };

/**
 * The cluster's PostgreSQL stopped while jobs run and restarted a few seconds later. Meanwhile the
 * API node answers 503 STORE_UNAVAILABLE (a stable code a client can retry on) instead of hanging
 * or crashing; afterwards the same API process answers again, and every job submitted before the
 * outage and after it succeeds with a readable output.
 */
test('PostgreSQL restarted: 503 STORE_UNAVAILABLE meanwhile, then the same API recovers and every job succeeds', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  const pg = await startPrivatePostgres();
  const cluster = await clusterForTest(t, { postgresUrl: pg.url }).catch((err) => { pg.destroy(); throw err; });
  if (!cluster) return void pg.destroy();
  try {
    const api = await cluster.api(FAST);
    await Promise.all([cluster.worker(FAST), cluster.worker(FAST)]);
    const before: string[] = [];
    for (let i = 0; i < 12; i++) before.push(await submitJob(api.url, sleepJob(`before-${i}`, { ms: 1500, bytes: 1000 })));
    await until(async () => (await getJob(api.url, before[0]!)).status === 'running', 60_000, 50);

    pg.stop('fast');
    const read = await fetch(`${api.url}/v1/jobs/${before[0]}`);
    const readBody = await json(read);
    assert.equal(read.status, 503, JSON.stringify(readBody));
    assert.equal(readBody.code, 'STORE_UNAVAILABLE');
    const write = await submit(api.url, sleepJob('during', { ms: 100 }));
    const writeBody = await json(write);
    assert.equal(write.status, 503, JSON.stringify(writeBody));
    assert.equal(writeBody.code, 'STORE_UNAVAILABLE');
    assert.equal((await fetch(`${api.url}/ready`)).status, 503, 'not ready while the database is away');
    await new Promise((r) => setTimeout(r, 2000));
    pg.start();

    // The same process answers again: no restart of the API node.
    await until(async () => (await fetch(`${api.url}/v1/jobs/${before[0]}`)).status === 200, 60_000, 200);
    assert.equal(api.proc.exitCode, null);
    const after: string[] = [];
    for (let i = 0; i < 4; i++) after.push(await submitJob(api.url, sleepJob(`after-${i}`, { ms: 200, bytes: 1000 })));
    for (const id of [...before, ...after]) {
      const job = await waitStatus(api.url, id, ['succeeded'], 90_000);
      assert.equal((await outputBytes(api.url, job, 'data.bin')).length, 1000, id);
    }
  } finally {
    await cluster.destroy();
    pg.destroy();
  }
});
