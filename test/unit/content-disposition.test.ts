import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentDispositionHeader, downloadFileName } from '../../src/net/content-name.js';

test('Content-Disposition for served files: plain ASCII as is; other names as UTF-8 filename* with an ASCII fallback', () => {
  assert.equal(contentDispositionHeader('vocals.wav', 'attachment'), 'attachment; filename="vocals.wav"');
  assert.equal(contentDispositionHeader('résumé.wav', 'attachment'), 'attachment; filename="r_sum_.wav"; filename*=UTF-8\'\'r%C3%A9sum%C3%A9.wav');
  assert.equal(contentDispositionHeader('写真.png', 'inline'), 'inline; filename="__.png"; filename*=UTF-8\'\'%E5%86%99%E7%9C%9F.png');
  assert.equal(contentDispositionHeader('say "hi".txt', 'attachment'), 'attachment; filename="say \\"hi\\".txt"');
  // What we send, a client reading it back gets the same name.
  for (const name of ['résumé.wav', '写真.png', 'plain.bin']) {
    assert.equal(downloadFileName(contentDispositionHeader(name, 'attachment'), new URL('http://x/y')), name);
  }
});
