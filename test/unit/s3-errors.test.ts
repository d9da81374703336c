import assert from 'node:assert/strict';
import { test } from 'node:test';
import { s3Error } from '../../src/adapters/s3/s3.errors.js';

test('S3 failures map to the catalogue: a socket failure however wrapped is BLOB_STORE_UNAVAILABLE (retryable)', () => {
  const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
  const wrapped = [
    refused,
    new Error('upload failed', { cause: refused }),
    new Error('outer', { cause: new Error('middle', { cause: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) }) }),
    Object.assign(new AggregateError([refused, refused], 'all addresses failed'), {}),
    Object.assign(new Error('Service Unavailable'), { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }),
    Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
  ];
  for (const err of wrapped) {
    const e = s3Error(err, 'b');
    assert.equal(e.code, 'BLOB_STORE_UNAVAILABLE', err.message);
    assert.equal(e.retryable, true, err.message);
  }
  const denied = s3Error(Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }), 'b');
  assert.deepEqual([denied.code, denied.retryable], ['BLOB_STORE_UNAVAILABLE', false]);
  assert.equal(s3Error(new Error('something else'), 'b').code, 'INTERNAL');
});
