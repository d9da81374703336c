import { test } from 'node:test';
import assert from 'node:assert/strict';
import { safeFileName, isSafeOutputName } from '../../src/util/safe-name.js';

test('safeFileName strips directories, traversal and control characters', () => {
  assert.equal(safeFileName('../../etc/passwd'), 'passwd');
  assert.equal(safeFileName('..\\..\\win.ini'), 'win.ini');
  assert.equal(safeFileName('a\u0000b\u001f.png'), 'ab.png');
  assert.equal(safeFileName('...hidden'), 'hidden');
  assert.equal(safeFileName(''), 'file');
  assert.equal(safeFileName('../'), 'file');
  assert.ok(Buffer.byteLength(safeFileName('x'.repeat(500) + '.png')) <= 200);
  assert.ok(safeFileName('x'.repeat(500) + '.png').endsWith('.png'));
});

test('isSafeOutputName accepts plain names only', () => {
  assert.ok(isSafeOutputName('vocals.wav'));
  assert.ok(!isSafeOutputName('../vocals.wav'));
  assert.ok(!isSafeOutputName('a/b'));
  assert.ok(!isSafeOutputName(''));
});
