import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openRuntime } from '../../src/runtime.js';
import { inProcessWorker, spawnWorker, testConfig, until } from '../helpers/server.js';

/**
 * A worker frozen with SIGSTOP past its lease while another worker takes the job, then resumed with
 * SIGCONT: the frozen worker changes nothing of that job (no progress, no output, no ending).
 */
test('a worker stopped past its lease and resumed changes nothing of the job another worker finished', async () => {
  const config = testConfig({ workers: { leaseMs: 1500, heartbeatMs: 300, pollMs: 50 }, network: { allowPrivate: true } });
  const rt = await openRuntime(config);
  const frozen = spawnWorker(config.data, { MEDIAFLOW_WORKERS_LEASE_MS: '1500', MEDIAFLOW_WORKERS_HEARTBEAT_MS: '300', MEDIAFLOW_WORKERS_POLL_MS: '50' });
  try {
    await frozen.ready;
    const { job } = await rt.jobs.submit({ processor: 'sleep', params: { ms: 4000, output: true }, input: { kind: 'url', url: 'http://127.0.0.1/' } });
    await until(async () => (await rt.store.get(job.id))?.status === 'running' && (await rt.store.get(job.id))!.progress > 0);
    frozen.proc.kill('SIGSTOP');
    // The lease runs out; the job goes back to the queue and a healthy worker takes it.
    await new Promise((r) => setTimeout(r, 1800));
    const requeued = await rt.queue.requeueExpired();
    assert.ok(requeued.some((j) => j.id === job.id));
    const healthy = inProcessWorker(rt);
    const done = await until(async () => { const j = await rt.store.get(job.id); return j?.status === 'succeeded' ? j : null; }, 30_000);
    await healthy.stop(true, 5000);
    const afterId = await rt.events.lastId();
    frozen.proc.kill('SIGCONT');
    // Give the resumed worker time to try every write it had pending (its timers fire at once).
    await until(async () => frozen.output().includes('lease lost'), 15_000);
    await new Promise((r) => setTimeout(r, 1000));
    const now = await rt.store.get(job.id);
    assert.deepEqual(now, done, 'the job record is exactly as the healthy worker left it');
    const later = (await rt.events.read(afterId, 1000)).filter((e) => e.event.jobId === job.id);
    assert.deepEqual(later, [], 'no event about the job after it ended');
    assert.equal(done.attempts, 2);
    assert.deepEqual(done.outputs.map((o) => o.name), ['hello.txt']);
  } finally {
    frozen.proc.kill('SIGCONT');
    await frozen.kill();
    await rt.close();
    rmSync(config.data, { recursive: true, force: true });
  }
});
