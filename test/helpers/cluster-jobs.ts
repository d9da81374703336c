import assert from 'node:assert/strict';
import postgres from 'postgres';
import type { Node } from './cluster.js';
import { json, submit, until } from './server.js';

/**
 * Small steps the distributed fault tests share: submit over HTTP, wait for a job's status, read
 * what PostgreSQL recorded about a job (its lease owner, its events).
 */

/** A `sleep` job with a URL input of its own (identical submits would be the same job). */
export function sleepJob(n: number | string, params: Record<string, unknown>) {
  return { processor: 'sleep', params, input: { url: `http://127.0.0.1/?job=${n}` } };
}

/** Submits and answers the new job's id (202: created and queued). */
export async function submitJob(api: string, body: unknown): Promise<string> {
  const res = await submit(api, body);
  const job = await json(res);
  assert.equal(res.status, 202, JSON.stringify(job));
  return job.id as string;
}

export async function getJob(api: string, id: string): Promise<any> {
  const res = await fetch(`${api}/v1/jobs/${id}`);
  assert.equal(res.status, 200);
  return json(res);
}

/** Waits until the job is in one of `statuses`; an ending outside them fails at once. */
export async function waitStatus(api: string, id: string, statuses: string[], timeoutMs = 60_000): Promise<any> {
  return until(async () => {
    const job = await getJob(api, id);
    if (statuses.includes(job.status)) return job;
    if (['succeeded', 'failed', 'canceled'].includes(job.status)) assert.fail(`job ${id} ended ${job.status} (${JSON.stringify(job.error)}), expected ${statuses.join('/')}`);
    return null;
  }, timeoutMs, 100);
}

/** Downloads an output and answers its bytes. */
export async function outputBytes(api: string, job: { outputs: Array<{ name: string; url: string }> }, name: string): Promise<Buffer> {
  const out = job.outputs.find((o) => o.name === name);
  assert.ok(out, `job has no output ${name}: ${JSON.stringify(job.outputs)}`);
  const res = await fetch(`${api}${out.url}`);
  assert.equal(res.status, 200);
  return Buffer.from(await res.arrayBuffer());
}

/** A read-only look into the cluster's PostgreSQL. */
export function clusterSql(url: string) {
  return postgres(url, { max: 2, fetch_types: false, onnotice: () => {}, connect_timeout: 5 });
}

/** The worker id a node printed when it started. */
export function workerIdOf(node: Node): string {
  // The JSON log line of the worker's start, whatever the order of its fields.
  const line = node.output().split('\n').find((l) => l.includes('"msg":"worker started"')) ?? '';
  const m = /"workerId":"([^"]+)"/.exec(line);
  assert.ok(m, `no worker id in:\n${node.output()}`);
  return m[1]!;
}
