import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { S3Keys } from '../../src/adapters/s3/s3.keys.js';
import { MediaflowError } from '../../src/core/errors.js';

const SHA = 'ab'.repeat(32);

describe('S3 key layout', () => {
  it('fans content keys out under the prefix, with or without its trailing slash', () => {
    assert.equal(new S3Keys('').blob(SHA), `blobs/ab/ab/${SHA}`);
    assert.equal(new S3Keys('tenant').blob(SHA), `tenant/blobs/ab/ab/${SHA}`);
    assert.equal(new S3Keys('tenant/').blob(SHA), `tenant/blobs/ab/ab/${SHA}`);
    assert.equal(new S3Keys('tenant').temporary('u-1'), 'tenant/tmp/u-1');
  });

  it('reads the sha256 back from content keys only', () => {
    const k = new S3Keys('p');
    assert.equal(k.shaOf(k.blob(SHA)), SHA);
    assert.equal(k.shaOf(`p/tmp/${SHA}`), null);
    assert.equal(k.shaOf(`other/blobs/ab/ab/${SHA}`), null);
    assert.equal(k.shaOf(`p/blobs/cd/ab/${SHA}`), null, 'a key in the wrong fan-out folder is not a blob');
    assert.equal(k.shaOf(`p/blobs/ab/ab/${SHA.toUpperCase()}`), null);
  });

  it('refuses anything but a lowercase hex sha256 as a blob id', () => {
    for (const bad of ['', 'abc', SHA.toUpperCase(), `${SHA}0`, '../'.repeat(22)]) {
      assert.throws(() => new S3Keys().blob(bad), (e: unknown) => e instanceof MediaflowError && e.code === 'NOT_FOUND');
    }
  });
});
