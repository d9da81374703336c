import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rleEncode } from '../../src/processors/segment/coco-rle.js';
import { maskMoments, normaliseAngle, rleMoments } from '../../src/processors/segment/mask.moments.js';
import { orientationOf } from '../../src/processors/orientation/orientation.service.js';
import type { SegmentInstance, SegmentResult } from '../../src/processors/segment/segment.service.js';

/**
 * A bar of the given length and width whose long axis points along (cos θ, −sin θ) in image
 * coordinates: θ counter-clockwise as seen, since image rows go down. Written here without the
 * scene helper, so the convention is checked independently.
 */
function bar(w: number, h: number, theta: number, length: number, width: number): Uint8Array {
  const m = new Uint8Array(w * h);
  const t = (theta * Math.PI) / 180, ux = Math.cos(t), uy = -Math.sin(t);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const dx = x + 0.5 - w / 2, dy = y + 0.5 - h / 2;
    const along = dx * ux + dy * uy, across = -dx * uy + dy * ux;
    if (Math.abs(along) <= length / 2 && Math.abs(across) <= width / 2) m[y * w + x] = 1;
  }
  return m;
}

test('the angle is counter-clockwise from the horizontal as seen, in (-90, 90]', () => {
  const W = 300, H = 300;
  const rising = bar(W, H, 30, 200, 30);
  // The bar rises to the right: its right end is higher in the picture (smaller row index).
  let rightmostY = 0, rightmostX = -1;
  for (let i = 0; i < rising.length; i++) if (rising[i] && i % W > rightmostX) { rightmostX = i % W; rightmostY = Math.floor(i / W); }
  assert.ok(rightmostY < H / 2, 'the test bar itself rises to the right');
  assert.ok(Math.abs(rleMoments(rleEncode(rising, H, W))!.angle - 30) < 0.3);
  for (let theta = -89; theta <= 90; theta += 7) {
    const m = rleMoments(rleEncode(bar(W, H, theta, 220, 24), H, W))!;
    const diff = Math.abs(normaliseAngle(m.angle - theta));
    assert.ok(diff < 0.5, `θ=${theta}: measured ${m.angle}`);
    assert.ok(m.angle > -90 && m.angle <= 90);
    assert.ok(m.elongation > 20);
  }
  assert.equal(rleMoments(rleEncode(bar(W, H, 0, 200, 20), H, W))!.angle, 0);
  assert.equal(rleMoments(rleEncode(bar(W, H, 90, 200, 20), H, W))!.angle, 90, 'vertical is 90, not -90');
});

test('run-based and pixel-based moments agree; a disc is round', () => {
  const W = 120, H = 90;
  const m = bar(W, H, -37, 80, 22);
  const a = rleMoments(rleEncode(m, H, W))!, b = maskMoments(m, W, H)!;
  assert.equal(a.area, b.area);
  for (const k of [0, 1] as const) {
    assert.ok(Math.abs(a.centroid[k] - b.centroid[k]) < 1e-9);
    assert.ok(Math.abs(a.eigenvalues[k] - b.eigenvalues[k]) < 1e-6);
  }
  assert.ok(Math.abs(a.angle - b.angle) < 1e-9);
  const disc = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) if ((x + 0.5 - 60) ** 2 + (y + 0.5 - 45) ** 2 <= 900) disc[y * W + x] = 1;
  const d = rleMoments(rleEncode(disc, H, W))!;
  assert.ok(d.elongation < 1.02, `disc elongation ${d.elongation}`);
  assert.deepEqual(d.centroid, [60, 45]);
  assert.equal(rleMoments(rleEncode(new Uint8Array(W * H), H, W)), null);
});

function inst(id: number, area: number, angle: number, elongation: number, cls: string | null = null, classId: number | null = null): SegmentInstance {
  return { mask_id: id, mask_rle: { counts: '', size: [10, 10] }, score: 1, class: cls, class_id: classId, bbox: [0, 0, 1, 1], area, centroid: [id, id], angle, elongation };
}

function result(instances: SegmentInstance[]): SegmentResult {
  return { engine: 'builtin', width: 10, height: 10, count: instances.length, instances };
}

test('orientationOf picks the largest object, or the one asked for', () => {
  const seg = result([inst(0, 500, 12.5, 4, 'cup', 47), inst(1, 900, -40, 3, 'knife', 49), inst(2, 300, 80, 1.05, 'cup', 47)]);
  const main = orientationOf(seg);
  assert.equal(main.found, true);
  assert.equal(main.degree, -40);
  assert.equal(main.object?.mask_id, 1);
  assert.equal(main.reliable, true);
  assert.equal(main.note, undefined);
  assert.equal(orientationOf(seg, { object: 0 }).degree, 12.5);
  assert.equal(orientationOf(seg, { class: 'cup' }).degree, 12.5, 'largest cup');
  assert.equal(orientationOf(seg, { class: '47', object: 2 }).object?.mask_id, 2);
  const round = orientationOf(seg, { object: 2 });
  assert.equal(round.found, true);
  assert.equal(round.reliable, false);
  assert.match(round.note ?? '', /round/);
  assert.equal(orientationOf(seg, { object: 2, min_elongation: 1.01 }).reliable, true);
  const missing = orientationOf(seg, { object: 7 });
  assert.equal(missing.found, false);
  assert.equal(missing.degree, null);
  assert.match(missing.note ?? '', /mask_id 7/);
  const empty = orientationOf(result([]));
  assert.deepEqual([empty.found, empty.degree, empty.count], [false, null, 0]);
  assert.match(empty.note ?? '', /No object/);
});
