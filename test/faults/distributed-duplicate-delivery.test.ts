import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { clusterForTest, clusterUnavailable } from '../helpers/cluster.js';
import { clusterSql, getJob, outputBytes, sleepJob, submitJob, waitStatus } from '../helpers/cluster-jobs.js';
import { until } from '../helpers/server.js';

const skip = await clusterUnavailable();

/**
 * BullMQ may deliver a job id more than once (a stalled entry offered again, a reconciler racing an
 * enqueue). Here the same id is added again by hand while the job runs and after it ended: the two
 * workers take each copy from Redis, PostgreSQL refuses the claim, and the job runs once — one
 * attempt, one `running` event, one ending.
 */
test('a job delivered again while it runs and after it ended runs once', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  const cluster = await clusterForTest(t);
  if (!cluster) return;
  const sql = clusterSql(cluster.postgresUrl);
  const conn = new Redis(cluster.redisUrl, { maxRetriesPerRequest: null });
  const bull = new Queue('sleep', { connection: conn, prefix: cluster.redisPrefix });
  const deliverAgain = async (id: string) => {
    await bull.add('sleep', id, { jobId: id, removeOnComplete: true, removeOnFail: true });
    // Taken from Redis by a worker and dropped: BullMQ no longer holds it.
    await until(async () => (await bull.getJob(id)) === undefined, 30_000, 50);
  };
  try {
    const fast = { MEDIAFLOW_WORKERS_POLL_MS: '50' };
    const api = await cluster.api();
    await Promise.all([cluster.worker(fast), cluster.worker(fast)]);
    const id = await submitJob(api.url, sleepJob('twice', { ms: 3000, bytes: 1000 }));
    await until(async () => (await getJob(api.url, id)).status === 'running', 60_000, 50);
    await deliverAgain(id);
    await deliverAgain(id);
    const job = await waitStatus(api.url, id, ['succeeded'], 60_000);
    await deliverAgain(id);

    const now = await getJob(api.url, id);
    assert.equal(now.status, 'succeeded');
    assert.equal(now.attempts, 1, 'one attempt');
    assert.equal(now.finishedAt, job.finishedAt, 'the ending is the first one');
    assert.equal((await outputBytes(api.url, now, 'data.bin')).length, 1000);
    const events = await sql<Array<{ data: { type: string; status?: string } }>>`SELECT data FROM events WHERE job_id = ${id} ORDER BY id`;
    assert.deepEqual(events.filter((e) => e.data.type === 'status').map((e) => e.data.status), ['queued', 'running', 'succeeded']);
    assert.equal(events.filter((e) => e.data.type === 'output').length, 1, 'one output written');
  } finally {
    await bull.close();
    conn.disconnect();
    await sql.end({ timeout: 1 });
    await cluster.destroy();
  }
});
