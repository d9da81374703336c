import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../../src/config/load-config.js';
import type { AppConfig } from '../../src/config/config.schema.js';
import { buildServer } from '../../src/http/server.js';
import { openRuntime, type Runtime } from '../../src/runtime.js';
import { JobWorker } from '../../src/worker/job-worker.js';
import { BlobSweeper, type SweepReport } from '../../src/core/blob-sweeper.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = path.join(ROOT, 'src', 'cli', 'main.ts');

export function tempDir(prefix = 'mediaflow-test-'): string {
  return mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function testConfig(overrides: Record<string, unknown> = {}): AppConfig {
  return loadConfig({
    env: { MEDIAFLOW_NO_CONFIG_FILE: '1' },
    flags: { data: tempDir(), logLevel: 'silent', port: 0, enableTestProcessors: true, ...overrides },
  });
}

export interface InProcessServer {
  url: string;
  rt: Runtime;
  app: FastifyInstance;
  worker: JobWorker | null;
  config: AppConfig;
  close(): Promise<void>;
}

/** One blob sweep as if the grace period had passed: what no job references goes. */
export async function sweepBlobs(rt: Runtime): Promise<SweepReport> {
  return new BlobSweeper({ store: rt.store, blobs: rt.blobs, scratch: rt.scratch, graceMs: rt.config.blobs.graceMs }).sweep(Date.now() + rt.config.blobs.graceMs + 1000);
}

/** A job worker in this process on the runtime's adapters (every enabled processor). */
export function inProcessWorker(rt: Runtime): JobWorker {
  return new JobWorker({ config: rt.config, processors: rt.processors, queue: rt.queue, blobs: rt.blobs, scratch: rt.scratch, registry: rt.workers }).start();
}

/**
 * A real server on 127.0.0.1 (random port) over a real SQLite file in a fresh temp folder, with a
 * job worker in the same process (the spawned-server helper below covers worker processes).
 */
export async function startServer(overrides: Record<string, unknown> = {}, opts: { worker?: boolean } = {}): Promise<InProcessServer> {
  const config = testConfig(overrides);
  let worker: JobWorker | null = null;
  const rt = await openRuntime(config, { onQueued: () => worker?.wake() });
  const app = await buildServer(rt);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const port = (app.server.address() as { port: number }).port;
  if (opts.worker !== false) worker = inProcessWorker(rt);
  const server: InProcessServer = {
    url: `http://127.0.0.1:${port}`,
    rt,
    app,
    worker,
    config,
    async close() {
      await server.worker?.stop(false, 0);
      await app.close();
      await rt.close();
      rmSync(config.data, { recursive: true, force: true });
    },
  };
  return server;
}

export interface SpawnedServer {
  url: string;
  proc: ChildProcess;
  data: string;
  output: () => string;
  /** SIGTERM and wait. */
  stop(): Promise<void>;
}

/** `mediaflow serve` as a real process tree (API + forked worker processes). */
export async function spawnServer(data: string, env: Record<string, string> = {}, args: string[] = []): Promise<SpawnedServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', '--data', data, '--port', '0', ...args], {
    cwd: ROOT,
    env: { ...process.env, MEDIAFLOW_LOG_LEVEL: 'warn', MEDIAFLOW_ENABLE_TEST_PROCESSORS: '1', MEDIAFLOW_NO_CONFIG_FILE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/[\d.]+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    };
    proc.stdout!.on('data', check);
    proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${out}`)); });
  });
  return {
    url,
    proc,
    data,
    output: () => out,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

export async function json<T = any>(res: Response): Promise<T> {
  const text = await res.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`not JSON (${res.status}): ${text.slice(0, 300)}`);
  }
}

/** Polls `fn` until it returns a truthy value or `timeoutMs` passes. */
export async function until<T>(fn: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, everyMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Submits a job as JSON. */
export function submit(url: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${url}/v1/jobs`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

/** Submits a file upload (multipart) with extra form fields. */
export function upload(url: string, processor: string, file: Buffer, name: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}) {
  const form = new FormData();
  form.set('processor', processor);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  form.set('file', new Blob([file]), name);
  return fetch(`${url}/v1/jobs`, { method: 'POST', body: form, headers });
}

export interface SpawnedWorker {
  proc: ChildProcess;
  output: () => string;
  /** Resolves once the worker logged that it started. */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `mediaflow worker` as a real process on a data folder (split mode). */
export function spawnWorker(data: string, env: Record<string, string> = {}, args: string[] = []): SpawnedWorker {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, 'worker', '--data', data, ...args], {
    cwd: ROOT,
    env: { ...process.env, MEDIAFLOW_LOG_LEVEL: 'info', MEDIAFLOW_ENABLE_TEST_PROCESSORS: '1', MEDIAFLOW_NO_CONFIG_FILE: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => { out += d; if (out.includes('worker started')) resolve(); };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', onData);
    proc.once('exit', (code) => reject(new Error(`worker exited ${code}:\n${out}`)));
  });
  ready.catch(() => undefined);
  return {
    proc,
    output: () => out,
    ready,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill(signal);
      await exited;
    },
  };
}
