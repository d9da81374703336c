import { fork, type ChildProcess } from 'node:child_process';
import { readdirSync } from 'node:fs';
import os from 'node:os';
import type { AppConfig } from '../config/config.schema.js';
import type { Queue } from '../core/ports/queue.port.js';
import type { FromWorker, ToWorker } from './worker-process.js';

interface Child {
  proc: ChildProcess;
  workerId: string | null;
}

export interface SupervisorOptions {
  config: AppConfig;
  queue: Queue;
  /** The CLI entry to fork (`<entry> worker --child`). */
  entry: string;
  log: (level: string, msg: string, extra?: object) => void;
}

/**
 * Runs `workers.processes` worker processes for `serve`: isolates processors from the HTTP event
 * loop and from each other's crashes. A worker that dies has its jobs handed back at once and is
 * restarted: a job that was alone in it is charged the attempt (a job that kills every worker ends
 * `failed`), jobs that shared it run again alone, so that innocent neighbours are not blamed.
 */
export class WorkerSupervisor {
  private readonly children = new Set<Child>();
  private stopping = false;
  private restarts = 0;
  private wakePending = false;

  constructor(private readonly o: SupervisorOptions) {}

  start(): this {
    // Leases of workers that died elsewhere (split mode, other machines) expire: the queue reconciler requeues them.
    for (let i = 0; i < this.o.config.workers.processes; i++) this.spawn();
    return this;
  }

  private spawn() {
    const proc = fork(this.o.entry, ['worker', '--child'], {
      env: { ...process.env, MEDIAFLOW_CONFIG_JSON: JSON.stringify(this.o.config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: process.execArgv,
    });
    const child: Child = { proc, workerId: null };
    this.children.add(child);
    // Lowered at once, so that the threads its main thread starts from here on inherit the priority;
    // again when it is ready, for the threads the runtime started before that.
    this.lowerPriority(proc);
    proc.on('message', (m: FromWorker) => {
      if (m.type === 'ready') {
        child.workerId = m.workerId;
        this.lowerPriority(proc);
        this.wake();
      }
    });
    proc.on('exit', (code, signal) => {
      this.children.delete(child);
      if (this.stopping) return;
      this.o.log('error', 'worker process exited', { pid: proc.pid, code, signal });
      const restart = () => {
        if (this.stopping) return;
        this.restarts++;
        this.spawn();
      };
      const release = child.workerId ? this.o.queue.releaseWorker(child.workerId, { crashed: true }) : Promise.resolve([]);
      // Restart quickly, but not in a tight loop when something is badly wrong.
      void release.catch(() => []).then(() => setTimeout(restart, Math.min(5000, 100 * 2 ** Math.min(this.restarts, 6))).unref());
    });
  }

  /**
   * Runs a worker at `workers.nice` below this process's priority: models there then take the CPU
   * the API leaves, instead of sharing it equally with the API's event loop. On Linux the nice value
   * belongs to each thread, so every thread of the worker is set (/proc/<pid>/task); elsewhere the
   * process's. Lowering a priority needs no privilege; a failure is logged and the worker runs as is.
   */
  private lowerPriority(proc: ChildProcess) {
    const nice = this.o.config.workers.nice;
    if (!nice || !proc.pid) return;
    const target = Math.min(19, os.getPriority() + nice);
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${proc.pid}/task`).map(Number);
    } catch {
      tids = [proc.pid];
    }
    for (const tid of tids) {
      try {
        if (os.getPriority(tid) < target) os.setPriority(tid, target);
      } catch (err) {
        // A thread that ended meanwhile is no error; anything else is worth a line.
        if ((err as { info?: { code?: string } }).info?.code !== 'ESRCH') this.o.log('warn', 'could not lower the priority of a worker', { pid: proc.pid, tid, error: String(err) });
      }
    }
  }

  private send(msg: ToWorker) {
    for (const c of this.children) if (c.proc.connected) c.proc.send(msg, () => undefined);
  }

  /** A job was queued: workers look at once instead of at their next poll. */
  wake() {
    // Coalesce a burst of submits into one message per worker.
    if (this.wakePending) return;
    this.wakePending = true;
    setImmediate(() => {
      this.wakePending = false;
      this.send({ type: 'wake' });
    });
  }

  cancel(jobId: string) {
    this.send({ type: 'cancel', jobId });
  }

  get pids(): number[] {
    return [...this.children].map((c) => c.proc.pid!).filter(Boolean);
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const exits = [...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.proc.exitCode !== null) return resolve();
      c.proc.once('exit', () => resolve());
      const kill = setTimeout(() => c.proc.kill('SIGKILL'), 35_000);
      kill.unref();
      c.proc.once('exit', () => clearTimeout(kill));
    }));
    this.send({ type: 'shutdown' });
    await Promise.all(exits);
  }
}
