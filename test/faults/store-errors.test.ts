import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openRuntime } from '../../src/runtime.js';
import type { Queue } from '../../src/core/ports/queue.port.js';
import { JobWorker } from '../../src/worker/job-worker.js';
import { testConfig, until } from '../helpers/server.js';

/**
 * The real SQLite queue, with its first writes refused as a locked or unreachable database would
 * refuse them (fault injection at the port: the adapter itself stays real).
 */
function flaky(queue: Queue, failures: Partial<Record<keyof Queue, number>>): Queue {
  const left = { ...failures };
  return new Proxy(queue, {
    get(target, prop: keyof Queue) {
      const v = target[prop];
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        if ((left[prop] ?? 0) > 0) {
          left[prop]! -= 1;
          return Promise.reject(Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' }));
        }
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

test('a worker survives store errors on lease, fail and complete, backs off, and the jobs still end', async () => {
  const config = testConfig({ workers: { leaseMs: 1000, heartbeatMs: 200, pollMs: 20 }, network: { allowPrivate: true } });
  const rt = await openRuntime(config);
  const queue = flaky(rt.queue, { lease: 3, fail: 2, complete: 2 });
  const worker = new JobWorker({ config, processors: rt.processors, queue, blobs: rt.blobs, scratch: rt.scratch }).start();
  try {
    const ok = (await rt.jobs.submit({ processor: 'sleep', params: { ms: 20 }, input: { kind: 'url', url: 'http://127.0.0.1/' } })).job;
    const bad = (await rt.jobs.submit({ processor: 'sleep', params: { ms: 25, fail: true }, input: { kind: 'url', url: 'http://127.0.0.1/' } })).job;
    // Writes the worker could not make are recovered by lease expiry (the reconciler's requeue).
    const reconcile = setInterval(() => void rt.queue.requeueExpired().catch(() => undefined), 300);
    try {
      const done = await until(async () => {
        const [a, b] = await Promise.all([rt.store.get(ok.id), rt.store.get(bad.id)]);
        return a?.status === 'succeeded' && b?.status === 'failed' ? [a, b] : null;
      }, 30_000, 50);
      assert.equal(done[0].status, 'succeeded');
      assert.equal(done[1].error?.code, 'INTERNAL');
    } finally {
      clearInterval(reconcile);
    }
    // Still alive and leasing.
    const later = (await rt.jobs.submit({ processor: 'sleep', params: { ms: 10 }, input: { kind: 'url', url: 'http://127.0.0.1/' } })).job;
    await until(async () => (await rt.store.get(later.id))?.status === 'succeeded', 15_000, 50);
  } finally {
    await worker.stop(false, 0);
    await rt.close();
    rmSync(config.data, { recursive: true, force: true });
  }
});
