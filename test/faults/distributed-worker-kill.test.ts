import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clusterForTest, clusterUnavailable, type Node } from '../helpers/cluster.js';
import { clusterSql, getJob, outputBytes, sleepJob, submitJob, waitStatus, workerIdOf } from '../helpers/cluster-jobs.js';
import { until } from '../helpers/server.js';

const skip = await clusterUnavailable();
const ROUNDS = 20;
// Short leases so a dead worker's job is noticed in about two seconds: the API node's reconciler
// runs every leaseMs/3 and puts expired leases back into the queue.
const FAST = { MEDIAFLOW_WORKERS_LEASE_MS: '2000', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '300', MEDIAFLOW_WORKERS_POLL_MS: '50' };

/**
 * Two worker processes; 20 times a job starts, the worker running it is killed with SIGKILL (no
 * chance to hand anything back) and a fresh worker takes its place. Every job must end `succeeded`
 * on the surviving worker, with its attempt charged once and its output readable from S3.
 */
test('kill -9 of the worker running a job, 20 times: every job succeeds on another worker', { skip: skip ?? false, timeout: 300_000 }, async (t) => {
  const cluster = await clusterForTest(t);
  if (!cluster) return;
  const sql = clusterSql(cluster.postgresUrl);
  try {
    const api = await cluster.api(FAST);
    // Workers that printed their start; a replacement joins when ready, while the rounds go on.
    const live: Node[] = [];
    const starting: Array<Promise<unknown>> = [];
    const startWorker = () => starting.push(cluster.worker(FAST).then((n) => { live.push(n); }));
    startWorker();
    startWorker();
    await Promise.all(starting);
    const submitted: string[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const id = await submitJob(api.url, sleepJob(`kill-${round}`, { ms: 1000, bytes: 4096 }));
      submitted.push(id);
      // Mid-job: running and past its first progress step.
      await until(async () => { const j = await getJob(api.url, id); return j.status === 'running' && j.progress > 0; }, 60_000, 25);
      const [row] = await sql<Array<{ lease_owner: string | null }>>`SELECT lease_owner FROM jobs WHERE id = ${id}`;
      const victim = live.find((w) => workerIdOf(w) === row?.lease_owner);
      assert.ok(victim, `job ${id} runs on ${row?.lease_owner}, which is none of this test's workers`);
      await victim.kill('SIGKILL');
      live.splice(live.indexOf(victim), 1);
      startWorker();
      // The lease expires, the reconciler puts the job back, the other worker runs it.
      await waitStatus(api.url, id, ['succeeded'], 60_000);
    }
    await Promise.all(starting);

    for (const id of submitted) {
      const job = await getJob(api.url, id);
      assert.equal(job.status, 'succeeded', `${id}: ${JSON.stringify(job.error)}`);
      // The killed attempt was charged (its worker was silent past its lease), the next one succeeded.
      assert.equal(job.attempts, 2, `${id} attempts`);
      assert.equal((await outputBytes(api.url, job, 'data.bin')).length, 4096);
      const events = await sql<Array<{ data: { type: string; status?: string } }>>`SELECT data FROM events WHERE job_id = ${id} ORDER BY id`;
      const statuses = events.filter((e) => e.data.type === 'status').map((e) => e.data.status);
      assert.deepEqual(statuses, ['queued', 'running', 'queued', 'running', 'succeeded'], `${id} status events`);
    }
    assert.equal(submitted.length, ROUNDS);
  } finally {
    await sql.end({ timeout: 1 });
    await cluster.destroy();
  }
});
