import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultConfig } from '../../src/config/load-config.js';
import { fromSeedRle, rleDecode } from '../../src/processors/segment/coco-rle.js';
import { segmentDecoded, type SegmentResult } from '../../src/processors/segment/segment.service.js';
import { angleDiff, drawScene, pixelIou, type Scene, type SceneSpec, type Shape } from '../helpers/scenes.js';

const config = defaultConfig();

// Six objects of several colours and angles on an 800×600 backdrop, none touching; the last is round.
const SHAPES: Shape[] = [
  { kind: 'rect', cx: 150, cy: 130, length: 200, width: 50, angle: 30, color: [30, 40, 120] },
  { kind: 'ellipse', cx: 420, cy: 110, length: 220, width: 80, angle: -10, color: [200, 30, 30] },
  { kind: 'rect', cx: 650, cy: 250, length: 260, width: 60, angle: 80, color: [20, 90, 30] },
  { kind: 'ellipse', cx: 200, cy: 400, length: 240, width: 70, angle: -45, color: [15, 15, 15] },
  { kind: 'rect', cx: 450, cy: 420, length: 180, width: 90, angle: 0, color: [240, 200, 40] },
  { kind: 'ellipse', cx: 450, cy: 270, length: 90, width: 90, angle: 0, color: [110, 60, 20] },
];

const drawn = new WeakMap<SceneSpec, Scene>();

async function segmentScene(spec: SceneSpec, params: Record<string, unknown> = {}): Promise<{ scene: Scene; result: SegmentResult }> {
  const scene = drawn.get(spec) ?? drawScene(spec);
  drawn.set(spec, scene);
  const { result } = await segmentDecoded({ data: scene.rgb, width: scene.width, height: scene.height, channels: 3 }, { engine: 'builtin', ...params }, config);
  return { scene, result };
}

/**
 * Every true object matches a distinct instance with IoU ≥ 0.9, and every elongated one has its
 * angle within 1°; the instance count equals the object count.
 */
function assertMatches(spec: SceneSpec, scene: Scene, result: SegmentResult): void {
  assert.equal(result.count, spec.shapes.length, 'object count');
  const masks = result.instances.map((i) => rleDecode(fromSeedRle(i.mask_rle)));
  const used = new Set<number>();
  spec.shapes.forEach((shape, s) => {
    let best = -1, bestIou = 0;
    masks.forEach((m, k) => {
      const iou = pixelIou(m, scene.masks[s]);
      if (iou > bestIou) { bestIou = iou; best = k; }
    });
    assert.ok(bestIou >= 0.9, `shape ${s} (${shape.kind} at ${shape.angle}°): IoU ${bestIou.toFixed(3)}`);
    assert.ok(!used.has(best), `shape ${s} matched an instance already matched`);
    used.add(best);
    const inst = result.instances[best];
    if (shape.length / shape.width >= 1.5) {
      assert.ok(angleDiff(inst.angle, shape.angle) <= 1, `shape ${s}: angle ${inst.angle} vs ${shape.angle}`);
      assert.ok(inst.elongation > 2);
    } else {
      assert.ok(inst.elongation < 1.1, `round shape ${s}: elongation ${inst.elongation}`);
    }
    assert.ok(inst.score > 0 && inst.score <= 1);
    assert.equal(inst.class, null);
  });
}

const PLAIN: SceneSpec = { width: 800, height: 600, background: [205, 205, 200], shapes: SHAPES };

test('plain backdrop: exact count, IoU ≥ 0.9, angles within 1°', async () => {
  const spec = PLAIN;
  const { scene, result } = await segmentScene(spec);
  assertMatches(spec, scene, result);
  assert.equal(result.engine, 'builtin');
  assert.deepEqual(result.instances.map((i) => i.mask_id), [0, 1, 2, 3, 4, 5]);
  const areas = result.instances.map((i) => i.area);
  assert.deepEqual(areas, [...areas].sort((a, b) => b - a), 'largest first');
});

test('noisy, unevenly lit backdrop: the same objects are found as well', async () => {
  const spec: SceneSpec = { width: 800, height: 600, background: [190, 195, 185], shapes: SHAPES, noise: 12, tilt: 0.5, vignette: 0.35, seed: 11 };
  const { scene, result } = await segmentScene(spec);
  assertMatches(spec, scene, result);
  assert.ok(result.builtin && result.builtin.noise! > 1, 'the noise was measured');
});

test('dark backdrop with light objects', async () => {
  const spec: SceneSpec = {
    width: 640, height: 480, background: [25, 25, 30], noise: 6, seed: 3,
    shapes: [
      { kind: 'rect', cx: 200, cy: 240, length: 300, width: 70, angle: -60, color: [230, 230, 220] },
      { kind: 'ellipse', cx: 470, cy: 240, length: 250, width: 100, angle: 15, color: [200, 170, 60] },
    ],
  };
  const { scene, result } = await segmentScene(spec);
  assertMatches(spec, scene, result);
});

// Two parallel ellipses side by side, overlapping by 4 px, and a bar apart from them.
const TOUCHING: Shape[] = [
  { kind: 'ellipse', cx: 250, cy: 240, length: 260, width: 110, angle: 70, color: [40, 40, 160] },
  { kind: 'ellipse', cx: 250 + 106 * Math.cos((20 * Math.PI) / 180), cy: 240 + 106 * Math.sin((20 * Math.PI) / 180), length: 260, width: 110, angle: 70, color: [160, 40, 40] },
  { kind: 'rect', cx: 540, cy: 100, length: 140, width: 40, angle: -20, color: [30, 30, 30] },
];

test('two touching objects are split (distance-transform watershed)', async () => {
  const spec: SceneSpec = { width: 640, height: 480, background: [200, 200, 195], shapes: TOUCHING, noise: 8, tilt: 0.3, seed: 5 };
  const { scene, result } = await segmentScene(spec);
  assertMatches(spec, scene, result);
  const merged = await segmentScene(spec, { split_touching: false });
  assert.equal(merged.result.count, 2, 'without the watershed the touching pair is one blob');
});

test('empty scenes give no objects', async () => {
  const plain = await segmentScene({ width: 640, height: 480, background: [180, 180, 180], shapes: [] });
  assert.equal(plain.result.count, 0);
  assert.deepEqual(plain.result.instances, []);
  const rough = await segmentScene({ width: 640, height: 480, background: [150, 160, 170], shapes: [], noise: 15, tilt: 0.6, vignette: 0.4, seed: 9 });
  assert.equal(rough.result.count, 0);
});

test('min_area, max_instances and an explicit threshold', async () => {
  const spec = PLAIN;
  const big = await segmentScene(spec, { min_area: 12_000 });
  assert.ok(big.result.count >= 1 && big.result.count < SHAPES.length);
  assert.ok(big.result.instances.every((i) => i.area >= 12_000));
  const two = await segmentScene(spec, { max_instances: 2 });
  assert.equal(two.result.count, 2);
  // A very high threshold keeps only the objects that differ most from the backdrop.
  const strong = await segmentScene(spec, { threshold: 0.6 });
  assert.ok(strong.result.count < SHAPES.length && strong.result.count >= 1);
  assert.equal(strong.result.builtin?.threshold, Math.round(0.6 * Math.sqrt(3) * 255 * 100) / 100);
});

test('transparency is used when the image has it', async () => {
  const w = 300, h = 200;
  const data = new Uint8Array(w * h * 4); // transparent black everywhere
  const truth = new Uint8Array(w * h);
  for (let y = 40; y < 160; y++) for (let x = 50; x < 120; x++) { data.set([90, 90, 90, 255], (y * w + x) * 4); truth[y * w + x] = 1; }
  const { result } = await segmentDecoded({ data, width: w, height: h, channels: 4 }, {}, config);
  assert.equal(result.count, 1);
  assert.equal(result.builtin?.cue, 'alpha');
  assert.deepEqual(rleDecode(fromSeedRle(result.instances[0].mask_rle)), truth);
  assert.equal(result.instances[0].angle, 90, 'a tall rectangle stands vertical');
});

test('cancellation stops the engine', async () => {
  const scene = drawScene({ width: 400, height: 300, background: [200, 200, 200], shapes: SHAPES.slice(0, 1) });
  const ac = new AbortController();
  ac.abort(new Error('canceled by test'));
  await assert.rejects(segmentDecoded({ data: scene.rgb, width: 400, height: 300, channels: 3 }, {}, config, { signal: ac.signal }), /canceled by test/);
  const stages: string[] = [];
  await segmentDecoded({ data: scene.rgb, width: 400, height: 300, channels: 3 }, {}, config, { onProgress: (_f, s) => stages.push(s) });
  assert.ok(stages.includes('background') && stages.includes('splitting') && stages.at(-1) === 'done', stages.join(','));
});
