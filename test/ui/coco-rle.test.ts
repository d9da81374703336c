import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { rleEncode, rleFrString, rleToString } from '../../src/processors/segment/coco-rle.js';
import { rleMoments } from '../../src/processors/segment/mask.moments.js';
import { ROOT } from '../helpers/server.js';

// The page's own module (plain JavaScript served as is), loaded the way the browser loads it.
const web = await import(pathToFileURL(path.join(ROOT, 'web', 'js', 'lib', 'coco-rle.js')).href);

const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');

function square(h: number, w: number, y0: number, y1: number, x0: number, x1: number): Uint8Array {
  const m = new Uint8Array(h * w);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = 1;
  return m;
}

/** A seeded generator, so a failure can be reproduced. */
function rng(seed: number) {
  return () => ((seed = (seed * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

test('the browser decoder reads pycocotools strings (known vectors)', () => {
  // pycocotools' own output for these 25×25 masks.
  const known: Array<[Uint8Array, string]> = [
    [square(25, 25, 0, 5, 0, 5), '05d00000000d?'],
    [square(25, 25, 5, 10, 5, 10), 'R45d00000000b;'],
    [square(25, 25, 5, 15, 5, 15), 'R4:?00000000000000000e7'],
    [square(25, 25, 20, 25, 20, 25), 'X`05d00000000'],
    [square(25, 25, 0, 25, 0, 25), '0ac0'],
  ];
  for (const [mask, s] of known) {
    assert.deepEqual(web.decodeMask({ size: [25, 25], counts: b64(s) }), mask, `base64 of ${s}`);
    assert.deepEqual(web.decodeMask({ size: [25, 25], counts: s }), mask, `raw ${s}`);
  }
  // A real 427×640 mask: the counts read back give the same string when the server re-encodes them.
  const complex = '\\`_3;j<6M3E_OjCd0T<:O1O2O001O00001O00001O001O0000O1K6J5J6A^C0g<N=O001O0O2Omk^4';
  assert.equal(rleToString(web.rleCounts({ size: [427, 640], counts: b64(complex) })), complex);
  assert.deepEqual(web.rleCounts({ size: [427, 640], counts: b64(complex) }), [...rleFrString(complex, 427, 640).counts]);
});

test('the browser decoder gives back every mask the server encodes, and the same moments', () => {
  const rnd = rng(7);
  for (let n = 0; n < 200; n++) {
    const h = 1 + Math.floor(rnd() * 60), w = 1 + Math.floor(rnd() * 60);
    const mask = new Uint8Array(h * w);
    if (rnd() < 0.3) for (let i = 0; i < mask.length; i++) mask[i] = rnd() < 0.5 ? 1 : 0;
    else {
      for (let b = 0; b < 3; b++) {
        const cx = rnd() * w, cy = rnd() * h, rx = 1 + rnd() * w / 2, ry = 1 + rnd() * h / 3, t = rnd() * Math.PI;
        for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
          const dx = x + 0.5 - cx, dy = y + 0.5 - cy;
          const u = dx * Math.cos(t) + dy * Math.sin(t), v = -dx * Math.sin(t) + dy * Math.cos(t);
          if ((u / rx) ** 2 + (v / ry) ** 2 <= 1) mask[y * w + x] = 1;
        }
      }
    }
    const rle = rleEncode(mask, h, w);
    const json = { size: [h, w], counts: b64(rleToString(rle.counts)) };
    assert.deepEqual(web.decodeMask(json), mask, `mask ${n} (${h}×${w})`);

    const labels = new Uint8Array(h * w);
    const m = web.paintRuns(web.rleCounts(json), h, w, labels, 1);
    const server = rleMoments(rle);
    if (!server) { assert.equal(m.area, 0); continue; }
    assert.equal(m.area, server.area);
    assert.ok(Math.abs(m.centroid[0] - server.centroid[0]) < 1e-9 && Math.abs(m.centroid[1] - server.centroid[1]) < 1e-9);
    if (server.elongation > 1.05) {
      const axis = web.principalAxis(m.cov);
      const diff = Math.abs(axis.angle - server.angle);
      assert.ok(Math.min(diff, 180 - diff) < 1e-6, `angle ${axis.angle} vs ${server.angle}`);
    }
  }
});

test('a malformed string is refused rather than drawn wrong', () => {
  assert.throws(() => web.countsFromString('0a\u007f'), RangeError); // a character outside 48..111
  assert.throws(() => web.countsFromString('0P'), RangeError); // 'P' says more groups follow, but the string ends
});
