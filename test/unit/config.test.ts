import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, configFromEnv, loadConfig } from '../../src/config/load-config.js';

test('defaults are complete and the result is frozen', () => {
  const c = loadConfig({ env: { MEDIAFLOW_NO_CONFIG_FILE: '1' } });
  assert.equal(c.host, '127.0.0.1');
  assert.equal(c.port, 8000);
  assert.equal(c.data, path.resolve('./data'));
  assert.equal(c.workers.processes, 1);
  assert.equal(c.network.allowPrivate, false);
  assert.ok(Object.isFrozen(c) && Object.isFrozen(c.workers));
  assert.throws(() => { (c as { port: number }).port = 1; });
});

test('environment maps onto nested keys, flags win over environment', () => {
  const env = { MEDIAFLOW_PORT: '9001', MEDIAFLOW_WORKERS_PROCESSES: '3', MEDIAFLOW_NETWORK_ALLOW_PRIVATE: 'yes', MEDIAFLOW_API_KEYS: '["abcdefgh1"]', MEDIAFLOW_NO_CONFIG_FILE: '1' };
  assert.deepEqual(configFromEnv(env).workers, { processes: '3' });
  const c = loadConfig({ env, flags: { port: 9002 } });
  assert.equal(c.port, 9002);
  assert.equal(c.workers.processes, 3);
  assert.equal(c.network.allowPrivate, true);
  assert.deepEqual(c.apiKeys, ['abcdefgh1']);
});

test('every error is listed at once', () => {
  try {
    loadConfig({ env: { MEDIAFLOW_PORT: 'x', MEDIAFLOW_RETENTION_DAYS: '-1', MEDIAFLOW_NO_CONFIG_FILE: '1' }, flags: { workers: { processes: 0 } } });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /port/);
    assert.match(text, /retentionDays/);
    assert.match(text, /workers\.processes/);
  }
});

test('an unknown MEDIAFLOW_* name refuses the start, with the closest valid name', () => {
  // MEDIAFLOW_API_KEY (singular) used to start an open server while its operator believed it keyed.
  try {
    loadConfig({ env: { MEDIAFLOW_API_KEY: 'abcdefgh1', MEDIAFLOW_WORKER_PROCESSES: '2', MEDIAFLOW_NO_CONFIG_FILE: '1' } });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      'MEDIAFLOW_API_KEY: unknown; did you mean MEDIAFLOW_API_KEYS?',
      'MEDIAFLOW_WORKER_PROCESSES: unknown; did you mean MEDIAFLOW_WORKERS_PROCESSES?',
    ]);
  }
});

test('the variables that steer loading, and every schema key at any depth, stay valid', () => {
  const c = loadConfig({ env: {
    MEDIAFLOW_NO_CONFIG_FILE: '1', MEDIAFLOW_LOG_LEVEL: 'warn', MEDIAFLOW_ENABLE_TEST_PROCESSORS: '1',
    MEDIAFLOW_TOOLS_YT_DLP_COOKIES: '/tmp/c.txt', MEDIAFLOW_LIMITS_MAX_OUTPUT_PIXELS: '1000', MEDIAFLOW_CONCURRENCY: '{"ocr": 2}',
    MEDIAFLOW_AUTH_OPEN_COMPAT: '["seed002"]', MEDIAFLOW_METRICS_PUBLIC: 'yes',
  } });
  assert.equal(c.logLevel, 'warn');
  assert.equal(c.enableTestProcessors, true);
  assert.equal(c.tools.ytDlpCookies, '/tmp/c.txt');
  assert.equal(c.limits.maxOutputPixels, 1000);
  assert.deepEqual(c.concurrency, { ocr: 2 });
  assert.deepEqual(c.auth.openCompat, ['seed002']);
  assert.equal(c.metrics.public, true);
});

test('unknown keys in the config file, at any depth, refuse the start, each with the closest valid name', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-config-'));
  const file = path.join(dir, 'mediaflow.json');
  writeFileSync(file, JSON.stringify({
    apikeys: ['abcdefgh1'],
    workers: { proccesses: 2 },
    concurrency: { ocr: 2 }, // a record: any processor name is a valid key
    segment: { models: { mine: { path: 'm.onnx', format: 'yolo-seg', clases: 'c.txt' } } },
  }));
  try {
    loadConfig({ env: {}, file });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [
      `${file}: apikeys: unknown; did you mean apiKeys?`,
      `${file}: workers.proccesses: unknown; did you mean workers.processes?`,
      `${file}: segment.models.mine.clases: unknown; did you mean segment.models.mine.classes?`,
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
