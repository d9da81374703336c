import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, dedupKey, validateParams } from '../../src/core/params.js';
import { sleepProcessor } from '../../src/processors/testing/index.js';
import { InputError } from '../../src/core/errors.js';

test('params are coerced from strings and completed with defaults', () => {
  assert.deepEqual(validateParams(sleepProcessor, { ms: '250' }), { ms: 250, fail: false, output: false, scratch: false, bytes: 0 });
});

test('unknown and out-of-range params are refused with PARAMS_INVALID listing each problem', () => {
  try {
    validateParams(sleepProcessor, { ms: -5, colour: 'red' });
    assert.fail('should throw');
  } catch (err) {
    assert.ok(err instanceof InputError);
    assert.equal(err.code, 'PARAMS_INVALID');
    assert.equal(err.status, 400);
    assert.match(err.message, /colour/);
    assert.match(err.message, /ms/);
  }
});

test('canonical JSON ignores key order; the dedup key changes with version, params and input', () => {
  assert.equal(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } }), canonicalJson({ a: { c: 'x', d: [1, { x: 1, y: 2 }] }, b: 1 }));
  const k = dedupKey('ocr', '1', { lang: 'eng', psm: 3 }, 'abc');
  assert.equal(k, dedupKey('ocr', '1', { psm: 3, lang: 'eng' }, 'abc'));
  assert.notEqual(k, dedupKey('ocr', '2', { lang: 'eng', psm: 3 }, 'abc'));
  assert.notEqual(k, dedupKey('ocr', '1', { lang: 'fra', psm: 3 }, 'abc'));
  assert.notEqual(k, dedupKey('ocr', '1', { lang: 'eng', psm: 3 }, 'abd'));
});
