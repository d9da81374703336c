import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { json, spawnServer, submit, tempDir, until, type SpawnedServer } from '../helpers/server.js';

/** Every line the process tree printed that is a log record (JSON object with a level). */
function logRecords(output: string): Array<Record<string, unknown>> {
  return output.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('mediaflow serve', () => {
  let plain: SpawnedServer;
  let open: SpawnedServer;
  before(async () => {
    [plain, open] = await Promise.all([
      spawnServer(tempDir(), { MEDIAFLOW_LOG_LEVEL: 'info' }),
      spawnServer(tempDir(), { MEDIAFLOW_LOG_LEVEL: 'info' }, ['--allow-private']),
    ]);
  });
  after(async () => {
    for (const s of [plain, open]) {
      await s?.stop();
      if (s) rmSync(s.data, { recursive: true, force: true });
    }
  });

  test('--allow-private lets URL inputs on loopback through, as record-stream\'s flag does', async () => {
    const body = { processor: 'noop', input: { url: 'http://127.0.0.1:9/x' } };
    const refused = await submit(plain.url, body);
    assert.equal(refused.status, 403);
    assert.equal((await json(refused)).code, 'URL_FORBIDDEN');
    const accepted = await submit(open.url, body);
    assert.equal(accepted.status, 202);
  });

  test('the API and its worker processes log in one format: level words and ISO times, JSON when not a terminal', async () => {
    const job = await json(await submit(open.url, { processor: 'noop', input: { url: 'http://127.0.0.1:9/y' } }));
    await until(async () => (await json(await fetch(`${open.url}/v1/jobs/${job.id}`))).status === 'succeeded');
    await until(async () => logRecords(open.output()).some((r) => r.msg === 'job succeeded'));
    const records = logRecords(open.output());
    const api = records.filter((r) => r.msg === 'request completed');
    const worker = records.filter((r) => r.msg === 'worker started' || r.msg === 'job succeeded');
    assert.ok(api.length > 0, 'API request logs');
    assert.ok(worker.length >= 2, 'worker logs');
    const apiPid = api[0]!.pid;
    assert.ok(worker.some((r) => r.pid !== apiPid), 'worker lines come from the worker process');
    for (const r of records) {
      assert.ok(['fatal', 'error', 'warn', 'info', 'debug'].includes(r.level as string), `level ${JSON.stringify(r.level)}`);
      assert.match(String(r.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(typeof r.msg, 'string');
    }
  });

  test('/metrics keeps prom-client\'s conventional process metric names', async () => {
    const text = await (await fetch(`${plain.url}/metrics`)).text();
    assert.match(text, /^process_cpu_user_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /mediaflow_process_/);
  });
});
