import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createPostgresDatabase, postgresBackendAvailable } from '../conformance/backend.postgres.js';
import { startS3ForTests, s3UnavailableReason, type S3ForTests } from '../conformance/backend.s3.js';
import { CLI, ROOT, tempDir } from './server.js';

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Node {
  proc: ChildProcess;
  data: string;
  output(): string;
  /** SIGTERM and wait (SIGKILL after 15 s). */
  stop(): Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface ApiNode extends Node {
  url: string;
}

/**
 * A distributed installation for tests: its own PostgreSQL database, its own Redis key prefix and
 * its own S3 server (Swift), with helpers to start API nodes and worker nodes as real processes,
 * each with a data folder of its own (nothing shared but the three services).
 */
export interface Cluster {
  env: Record<string, string>;
  s3: S3ForTests;
  postgresUrl: string;
  redisUrl: string;
  redisPrefix: string;
  api(extraEnv?: Record<string, string>, args?: string[]): Promise<ApiNode>;
  worker(extraEnv?: Record<string, string>, args?: string[]): Promise<Node>;
  destroy(): Promise<void>;
}

/** Why a cluster cannot run here, or null. */
export async function clusterUnavailable(): Promise<string | null> {
  if (!(await postgresBackendAvailable())) return 'PostgreSQL is not reachable';
  const { Redis } = await import('ioredis');
  const r = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 2000 });
  try { await r.connect(); await r.ping(); } catch { return 'Redis is not reachable'; } finally { r.disconnect(); }
  return null;
}

function spawnNode(args: string[], env: Record<string, string>, data: string): Node & { lines: (re: RegExp) => Promise<RegExpExecArray> } {
  const proc = spawn(process.execPath, ['--import', 'tsx', CLI, ...args, '--data', data], {
    cwd: ROOT,
    env: { ...process.env, MEDIAFLOW_NO_CONFIG_FILE: '1', MEDIAFLOW_ENABLE_TEST_PROCESSORS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout!.on('data', (d) => { out += d; });
  proc.stderr!.on('data', (d) => { out += d; });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const node = {
    proc,
    data,
    output: () => out,
    lines: (re: RegExp) => new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node did not print ${re}:\n${out}`)), 90_000);
      const check = () => { const m = re.exec(out); if (m) { clearTimeout(timer); resolve(m); } };
      proc.stdout!.on('data', check);
      proc.stderr!.on('data', check);
      proc.once('exit', (code) => { clearTimeout(timer); reject(new Error(`node exited ${code}:\n${out}`)); });
      check();
    }),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill(signal);
      await exited;
    },
  };
  return node;
}

/** The S3 server's packages cannot be installed here: a reason to skip, not a failure. */
export class ClusterUnavailable extends Error {}

/**
 * startCluster for a test: null (and the test marked skipped, with the reason) when the S3 server
 * cannot be installed here; any other failure throws.
 */
export async function clusterForTest(t: { skip(message?: string): void }, opts: ClusterOptions = {}): Promise<Cluster | null> {
  try {
    return await startCluster(opts);
  } catch (err) {
    if (!(err instanceof ClusterUnavailable)) throw err;
    t.skip(err.message);
    return null;
  }
}

export interface ClusterOptions {
  /**
   * A PostgreSQL database of the test's own (a private server it stops and starts): used as it is,
   * and left for the test to remove. Default: a new database on the shared test server.
   */
  postgresUrl?: string;
  /** A Redis of the test's own (a private server it kills and restarts). Default: the shared one. */
  redisUrl?: string;
}

export async function startCluster(opts: ClusterOptions = {}): Promise<Cluster> {
  const ownDb = opts.postgresUrl ? { url: opts.postgresUrl, drop: async () => {} } : createPostgresDatabase({ migrate: false });
  const [db, s3] = await Promise.all([ownDb, startS3ForTests(`mf-${randomBytes(4).toString('hex')}`)]);
  if (!s3) {
    await db.drop();
    throw new ClusterUnavailable(`no S3 server: ${s3UnavailableReason}`);
  }
  const redisUrl = opts.redisUrl ?? REDIS_URL;
  const redisPrefix = `mf-${randomBytes(4).toString('hex')}`;
  const env: Record<string, string> = {
    MEDIAFLOW_MODE: 'distributed',
    MEDIAFLOW_POSTGRES_URL: db.url,
    MEDIAFLOW_REDIS_URL: redisUrl,
    MEDIAFLOW_REDIS_PREFIX: redisPrefix,
    MEDIAFLOW_S3_ENDPOINT: s3.endpoint,
    MEDIAFLOW_S3_REGION: s3.region,
    MEDIAFLOW_S3_BUCKET: s3.bucket,
    MEDIAFLOW_S3_ACCESS_KEY_ID: s3.accessKeyId,
    MEDIAFLOW_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    MEDIAFLOW_LOG_LEVEL: 'info',
    MEDIAFLOW_NETWORK_ALLOW_PRIVATE: '1',
  };
  const nodes: Node[] = [];
  const folders: string[] = [];
  return {
    env, s3, postgresUrl: db.url, redisUrl, redisPrefix,
    async api(extraEnv = {}, args = []) {
      const data = tempDir('mediaflow-api-');
      folders.push(data);
      const n = spawnNode(['serve', '--no-workers', '--port', '0', ...args], { ...env, ...extraEnv }, data);
      nodes.push(n);
      const m = await n.lines(/listening on (http:\/\/[\d.]+:\d+)/);
      return { ...n, url: m[1]! };
    },
    async worker(extraEnv = {}, args = []) {
      const data = tempDir('mediaflow-worker-');
      folders.push(data);
      const n = spawnNode(['worker', ...args], { ...env, ...extraEnv }, data);
      nodes.push(n);
      await n.lines(/worker started/);
      return n;
    },
    async destroy() {
      await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
      const { Redis } = await import('ioredis');
      const r = new Redis(redisUrl, { maxRetriesPerRequest: 1, retryStrategy: () => null });
      r.on('error', () => {});
      try {
        const keys = await r.keys(`${redisPrefix}:*`);
        if (keys.length) await r.del(...keys);
      } catch { /* a private Redis the test already stopped */ }
      r.disconnect();
      await s3.dispose();
      await db.drop();
      for (const f of folders) rmSync(f, { recursive: true, force: true });
    },
  };
}
