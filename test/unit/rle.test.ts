import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fromSeedRle, maskIou, rleArea, rleDecode, rleEncode, rleFromLabels, rleFrString, rleIou, rleMerge, rleToBbox, rleToString,
  toCocoJson, toSeedRle,
} from '../../src/processors/segment/coco-rle.js';
import { decodeSeedMask } from '../helpers/scenes-rle.js';

// Known vectors: pycocotools' own output for these masks, as asserted by the test suite of
// pytorchcocotools (which checks each expectation against `pycocotools.mask.encode`/`merge`).
const H = 25, W = 25;
function square(y0: number, y1: number, x0: number, x1: number): Uint8Array {
  const m = new Uint8Array(H * W);
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * W + x] = 1;
  return m;
}
const KNOWN: Array<[string, Uint8Array, string]> = [
  ['corner 0:5', square(0, 5, 0, 5), '05d00000000d?'],
  ['centre 5:10', square(5, 10, 5, 10), 'R45d00000000b;'],
  ['centre 5:15', square(5, 15, 5, 15), 'R4:?00000000000000000e7'],
  ['end 20:25', square(20, 25, 20, 25), 'X`05d00000000'],
  ['full', square(0, 25, 0, 25), '0ac0'],
];
// A real pycocotools string of a 427x640 mask (same source), for decode/re-encode identity.
const COMPLEX = '\\`_3;j<6M3E_OjCd0T<:O1O2O001O00001O00001O001O0000O1K6J5J6A^C0g<N=O001O0O2Omk^4';
const COMPLEX2 = 'RT_32n<<O100O0010O000010O0001O00001O000O101O0ISPc4';
const COMPLEX_UNION = 'RT_32X<9SD3f;3ZDNb;5_DKU;DeDd05HU;b0kD_OS;b0nD]OQ;e0nD[OR;e0nD[OR;f0nDZOQ;f0oDZOQ;f0oDZOQ;g0oDXOQ;h0oDXOQ;h0oDXOQ;i0oDVOQ;j0oDVOQ;k0nDTOS;l0mDTOS;l0nDSOR;l0oDmNX;n0f0J5J6A^C0g<N=O001O0O2Omk^4';

/** A decoder written from the format description alone (not from the module under test). */
function independentDecode(b64: string, h: number, w: number): Uint8Array {
  return decodeSeedMask({ counts: b64, size: [h, w] });
}

function randomMask(h: number, w: number, rnd: () => number): Uint8Array {
  const m = new Uint8Array(h * w);
  const style = rnd();
  if (style < 0.3) { for (let i = 0; i < m.length; i++) m[i] = rnd() < 0.5 ? 1 : 0; return m; }
  // a few random blobs, so that long and short runs and large count differences both occur
  const blobs = 1 + Math.floor(rnd() * 4);
  for (let b = 0; b < blobs; b++) {
    const cx = rnd() * w, cy = rnd() * h, rx = 1 + rnd() * w / 2, ry = 1 + rnd() * h / 2;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) m[y * w + x] = 1;
  }
  if (style > 0.9) m.fill(0);
  if (style > 0.95) m.fill(1);
  return m;
}

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

test('encode gives pycocotools\' strings for known masks', () => {
  for (const [name, mask, expected] of KNOWN) {
    const rle = rleEncode(mask, H, W);
    assert.equal(rleToString(rle.counts), expected, name);
    assert.deepEqual(rleDecode(rleFrString(expected, H, W)), mask, `${name} decodes back`);
  }
  assert.deepEqual([...rleEncode(square(0, 5, 0, 5), H, W).counts], [0, 5, 20, 5, 20, 5, 20, 5, 20, 5, 520]);
});

test('pycocotools strings of a real mask decode and re-encode to the identical string', () => {
  for (const s of [COMPLEX, COMPLEX2, COMPLEX_UNION]) {
    const rle = rleFrString(s, 427, 640);
    assert.equal(rleToString(rle.counts), s);
    const mask = rleDecode(rle);
    assert.equal(rleToString(rleEncode(mask, 427, 640).counts), s);
    assert.ok(rleArea(rle) > 0);
  }
});

test('merge matches pycocotools\' union and intersection vectors', () => {
  const e = (m: Uint8Array) => rleEncode(m, H, W);
  const s = (r: { counts: Uint32Array }) => rleToString(r.counts);
  const a = square(5, 10, 5, 10);
  assert.equal(s(rleMerge([e(a), e(square(10, 15, 10, 15))])), 'R45d0000000050K0000000`7');
  assert.equal(s(rleMerge([e(a), e(square(5, 15, 5, 15))])), 'R4:?00000000000000000e7');
  assert.equal(s(rleMerge([e(a), e(square(8, 13, 8, 13))])), 'R45d000003M03M0000T9');
  assert.equal(s(rleMerge([e(a), e(square(10, 15, 10, 15))], true)), 'ac0');
  assert.equal(s(rleMerge([e(a), e(square(5, 15, 5, 15))], true)), 'R45d00000000b;');
  assert.equal(s(rleMerge([e(a), e(square(8, 13, 8, 13))], true)), '`62g00_;');
  assert.equal(s(rleMerge([e(square(0, 25, 0, 25)), e(square(0, 25, 0, 25))], true)), '0ac0');
  const u = rleMerge([rleFrString(COMPLEX, 427, 640), rleFrString(COMPLEX2, 427, 640)]);
  assert.equal(s(u), COMPLEX_UNION);
});

test('random masks: round trip, area, bbox, merge and IoU agree with brute force', () => {
  const rnd = lcg(7);
  for (let t = 0; t < 200; t++) {
    const h = 1 + Math.floor(rnd() * 40), w = 1 + Math.floor(rnd() * 40);
    const a = randomMask(h, w, rnd), b = randomMask(h, w, rnd);
    const ra = rleEncode(a, h, w), rb = rleEncode(b, h, w);
    const str = rleToString(ra.counts);
    assert.deepEqual(rleDecode(rleFrString(str, h, w)), a);
    assert.deepEqual(independentDecode(toSeedRle(ra).counts, h, w), a);
    assert.deepEqual(rleDecode(fromSeedRle(toSeedRle(ra))), a);
    let area = 0, x0 = w, y0 = h, x1 = -1, y1 = -1, inter = 0, union = 0;
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
      const i = y * w + x;
      if (a[i]) { area++; x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y); }
      if (a[i] && b[i]) inter++;
      if (a[i] || b[i]) union++;
    }
    assert.equal(rleArea(ra), area);
    assert.deepEqual(rleToBbox(ra), area ? [x0, y0, x1 - x0 + 1, y1 - y0 + 1] : [0, 0, 0, 0]);
    const or = rleDecode(rleMerge([ra, rb]));
    const and = rleDecode(rleMerge([ra, rb], true));
    for (let i = 0; i < a.length; i++) {
      assert.equal(or[i], a[i] | b[i]);
      assert.equal(and[i], a[i] & b[i]);
    }
    // Merging gives canonical runs: the same string as encoding the merged mask directly.
    assert.equal(rleToString(rleMerge([ra, rb]).counts), rleToString(rleEncode(or, h, w).counts));
    assert.equal(maskIou(ra, rb), inter === 0 ? 0 : inter / union);
    const crowd = rleIou([ra], [rb], [true])[0][0];
    assert.equal(crowd, inter === 0 ? 0 : inter / area);
  }
});

test('large counts and negative differences survive the string form', () => {
  const h = 4000, w = 3000;
  const m = new Uint8Array(h * w);
  for (let y = 100; y < 3900; y++) m[y * w + 5] = 1; // one long run
  m[7 * w + 2999] = 1; // then a short one far away
  const rle = rleEncode(m, h, w);
  const s = rleToString(rle.counts);
  assert.deepEqual([...rleFrString(s, h, w).counts], [...rle.counts]);
  assert.deepEqual(independentDecode(toSeedRle(rle).counts, h, w), m);
  assert.deepEqual(toCocoJson(rle), { size: [h, w], counts: s });
});

test('rleFromLabels encodes one label of a label image', () => {
  const rnd = lcg(3);
  for (let t = 0; t < 50; t++) {
    const h = 2 + Math.floor(rnd() * 30), w = 2 + Math.floor(rnd() * 30);
    const labels = new Int32Array(h * w);
    const x0 = Math.floor(rnd() * w), y0 = Math.floor(rnd() * h);
    const x1 = x0 + Math.floor(rnd() * (w - x0)), y1 = y0 + Math.floor(rnd() * (h - y0));
    for (let y = y0; y <= y1; y++) for (let x = x0; x <= x1; x++) if (rnd() < 0.7) labels[y * w + x] = 3;
    for (let i = 0; i < labels.length; i++) if (!labels[i] && rnd() < 0.3) labels[i] = 5;
    const mask = Uint8Array.from(labels, (v) => (v === 3 ? 1 : 0));
    assert.deepEqual([...rleFromLabels(labels, h, w, 3, { x0, y0, x1, y1 }).counts], [...rleEncode(mask, h, w).counts]);
  }
});

test('malformed strings are refused', () => {
  assert.throws(() => rleFrString('05d0 ', 25, 25), /invalid character/);
  assert.throws(() => rleFrString('d', 25, 25), /ends in the middle/);
  assert.throws(() => rleDecode(rleFrString('05', 25, 25)), /sum to 5/);
});
