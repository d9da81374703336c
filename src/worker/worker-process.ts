import type { AppConfig } from '../config/config.schema.js';
import { openRuntime } from '../runtime.js';
import { JobWorker } from './job-worker.js';

/** Messages between `serve` and the worker processes it forks. */
export type ToWorker = { type: 'wake' } | { type: 'cancel'; jobId: string } | { type: 'shutdown' };
export type FromWorker = { type: 'ready'; workerId: string };

/**
 * A worker process: leases jobs from the data folder's store and runs them until told to stop.
 * Runs as `mediaflow worker` (standalone) or forked by `serve` (then it also listens on IPC, and
 * exits when its parent goes away, handing its jobs back to the queue).
 */
export async function runWorkerProcess(config: AppConfig, opts: { only?: string[]; log?: (level: string, msg: string, extra?: object) => void } = {}) {
  const rt = await openRuntime(config);
  // Scratch folders of worker processes that died on this machine (kill -9, power cut).
  void rt.scratch.sweep();
  const processors = rt.processors.filter((p) => !opts.only || opts.only.includes(p.name));
  const worker = new JobWorker({ config, processors, queue: rt.queue, blobs: rt.blobs, scratch: rt.scratch, registry: rt.workers, log: opts.log }).start();
  let stopping = false;
  const stop = async (graceful: boolean) => {
    if (stopping) return;
    stopping = true;
    await worker.stop(graceful, graceful ? 30_000 : 0);
    await Promise.allSettled(processors.map((p) => p.shutdown?.()));
    await rt.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop(true));
  process.on('SIGINT', () => void stop(true));
  if (process.send) {
    process.on('message', (msg: ToWorker) => {
      if (msg.type === 'wake') worker.wake();
      else if (msg.type === 'cancel') worker.cancel(msg.jobId);
      else if (msg.type === 'shutdown') void stop(true);
    });
    process.on('disconnect', () => void stop(false));
    process.send({ type: 'ready', workerId: worker.id } satisfies FromWorker);
  }
  opts.log?.('info', 'worker started', { workerId: worker.id, pid: process.pid });
  return worker;
}
