import { test } from 'node:test';
import assert from 'node:assert/strict';
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
