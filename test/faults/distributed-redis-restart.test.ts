import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterForTest, clusterUnavailable } from '../helpers/cluster.js';
import { clusterSql, getJob, outputBytes, sleepJob, submitJob, waitStatus } from '../helpers/cluster-jobs.js';
import { PrivateRedis } from '../helpers/redis-server.js';
import { until } from '../helpers/server.js';

const skip = await clusterUnavailable();
// The reconciler runs every leaseMs/3: a second here.
const FAST = { MEDIAFLOW_WORKERS_LEASE_MS: '3000', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '500', MEDIAFLOW_WORKERS_POLL_MS: '50' };

/**
 * Redis killed (SIGKILL, no persistence) in the middle of a run and started again empty: every queue
 * entry is gone, including those of jobs submitted while it was down. PostgreSQL's records are the
 * truth, so the reconciler rebuilds the queue and every job submitted succeeds, output readable.
 */
test('Redis restarted empty mid-run: the queue is rebuilt from PostgreSQL and every job succeeds', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  const redis = await PrivateRedis.start();
  const cluster = await clusterForTest(t, { redisUrl: redis.url }).catch(async (err) => { await redis.kill(); throw err; });
  if (!cluster) return void (await redis.kill());
  const sql = clusterSql(cluster.postgresUrl);
  try {
    const api = await cluster.api(FAST);
    await Promise.all([cluster.worker(FAST), cluster.worker(FAST)]);
    const submitted: string[] = [];
    // More jobs than the processor's limit (8 across workers): most wait in the queue.
    for (let i = 0; i < 40; i++) submitted.push(await submitJob(api.url, sleepJob(`before-${i}`, { ms: 800, bytes: 1000 })));
    await until(async () => (await getJob(api.url, submitted[0]!)).status === 'succeeded', 60_000, 50);

    const [{ queued }] = await sql<Array<{ queued: number }>>`SELECT count(*)::int AS queued FROM jobs WHERE status = 'queued'`;
    await redis.kill();
    assert.ok(queued > 0, 'jobs were still waiting in the queue when Redis died');
    // Submits still succeed (the record is stored; the queue entry is the reconciler's to restore).
    for (let i = 0; i < 5; i++) submitted.push(await submitJob(api.url, sleepJob(`during-${i}`, { ms: 200, bytes: 1000 })));
    await new Promise((r) => setTimeout(r, 1500));
    await redis.start();
    for (let i = 0; i < 5; i++) submitted.push(await submitJob(api.url, sleepJob(`after-${i}`, { ms: 200, bytes: 1000 })));

    for (const id of submitted) {
      const job = await waitStatus(api.url, id, ['succeeded'], 90_000);
      assert.equal((await outputBytes(api.url, job, 'data.bin')).length, 1000, id);
    }
    const [{ n }] = await sql<Array<{ n: number }>>`SELECT count(*)::int AS n FROM jobs WHERE status = 'succeeded'`;
    assert.equal(n, submitted.length, 'as many jobs succeeded as were submitted');
    assert.match(api.output(), /queue reconciled/);
  } finally {
    await sql.end({ timeout: 1 });
    await cluster.destroy();
    await redis.kill();
  }
});
