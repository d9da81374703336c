/**
 * Segmentation benchmark.
 *
 *  1. Speed of `segment` (built-in engine) on 1-megapixel PNG scenes: decode + segment + RLE per
 *     image, wall and CPU time, one thread.
 *  2. Accuracy over random scenes (640×480, four elongated rectangles/ellipses each, random colours,
 *     noise up to σ 15, uneven light): exact-count rate, IoU, and the error of each object's
 *     principal-axis angle against the angle it was drawn at.
 *  3. Model engines with the tiny test models (test/helpers/onnx-models.ts) on a 1-megapixel image:
 *     the time Mediaflow adds around `session.run` (resize, tensor, decoding boxes/NMS, masks, RLE),
 *     i.e. the overhead a real model would pay on top of its own inference.
 *
 * Run: npx tsx bench/segment.bench.ts [--quick] [--no-write]
 *   --quick     fewer images (a smoke run)
 *   --no-write  print only; by default the "## segment" section of bench/RESULTS.md is replaced.
 */
import { RESULTS_FILE, writeResultsSection } from './results-file.js';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { defaultConfig } from '../src/config/load-config.js';
import { fromSeedRle, rleDecode } from '../src/processors/segment/coco-rle.js';
import { loadImage } from '../src/processors/segment/segment.image.js';
import { segmentDecoded, segmentImage } from '../src/processors/segment/segment.service.js';
import { buildTorchvisionMaskRcnn, buildYoloSeg, buildZooMaskRcnn } from '../test/helpers/onnx-models.js';
import { angleDiff, drawScene, mulberry32, pixelIou, randomScene, writeScene } from '../test/helpers/scenes.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');
const SPEED_IMAGES = QUICK ? 5 : 20;
const ACCURACY_SCENES = QUICK ? 20 : 200;
const MODEL_RUNS = QUICK ? 3 : 10;

const cpuMs = (): number => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; };
const pct = (a: number[], q: number): number => { const s = [...a].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(q * s.length))]; };
const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
const f = (v: number, d = 1): string => v.toFixed(d);

const tmp = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-segment-bench-'));
const config = defaultConfig({ data: tmp, threads: 1 });
const lines: string[] = [];
const say = (s: string): void => { console.log(s); lines.push(s); };
const load0 = os.loadavg()[0];

try {
  // ------------------------------------------------------------ 1. speed on 1 MP scenes
  const rnd = mulberry32(2024);
  const files: string[] = [];
  for (let i = 0; i < SPEED_IMAGES + 2; i++) {
    const spec = randomScene(rnd, { width: 1200, height: 860, count: 3 + (i % 6), noise: (i % 4) * 5, tilt: (i % 3) * 0.2, vignette: (i % 2) * 0.3 });
    const file = path.join(tmp, `speed-${i}.png`);
    await writeScene(drawScene(spec), file);
    files.push(file);
  }
  for (const file of files.slice(0, 2)) await segmentImage(file, {}, config); // warm-up (JIT)
  const wall: number[] = [], cpu: number[] = [], decode: number[] = [];
  for (const file of files.slice(2)) {
    const t0 = performance.now();
    await loadImage(file, config);
    decode.push(performance.now() - t0);
    const t1 = performance.now(), c1 = cpuMs();
    await segmentImage(file, {}, config);
    wall.push(performance.now() - t1);
    cpu.push(cpuMs() - c1);
  }
  const total = wall.reduce((a, b) => a + b, 0);
  say(`- built-in engine, ${SPEED_IMAGES} PNG scenes of 1200×860 (1.03 MP), decode + segment + RLE, one at a time: `
    + `**${f(1000 / mean(cpu), 1)} images/s per core by CPU time** (CPU ${f(mean(cpu), 0)} ms per image, of which PNG decode ≈ ${f(mean(decode), 0)} ms wall); `
    + `by wall clock on the shared machine ${f((SPEED_IMAGES * 1000) / total, 2)} images/s, per image p50 ${f(pct(wall, 0.5), 0)} ms, p95 ${f(pct(wall, 0.95), 0)} ms`);

  // ------------------------------------------------------------ 2. accuracy over random scenes
  const arnd = mulberry32(7);
  let exact = 0, objects = 0, matched = 0;
  const errs: number[] = [], ious: number[] = [];
  for (let s = 0; s < ACCURACY_SCENES; s++) {
    const spec = randomScene(arnd, { width: 640, height: 480, count: 4, noise: arnd() * 15, tilt: arnd() * 0.5, vignette: arnd() * 0.4 });
    const scene = drawScene(spec);
    const { result } = await segmentDecoded({ data: scene.rgb, width: 640, height: 480, channels: 3 }, {}, config);
    if (result.count === spec.shapes.length) exact++;
    const masks = result.instances.map((i) => rleDecode(fromSeedRle(i.mask_rle)));
    spec.shapes.forEach((shape, k) => {
      objects++;
      let best = -1, bestIou = 0;
      masks.forEach((m, j) => { const iou = pixelIou(m, scene.masks[k]); if (iou > bestIou) { bestIou = iou; best = j; } });
      ious.push(bestIou);
      if (best < 0 || bestIou < 0.5) return;
      matched++;
      errs.push(angleDiff(result.instances[best].angle, shape.angle));
    });
  }
  say(`- accuracy over ${ACCURACY_SCENES} random 640×480 scenes (${objects} elongated objects, aspect 2–5, noise σ 0–15, uneven light): `
    + `exact count in ${f((100 * exact) / ACCURACY_SCENES)}% of scenes; ${matched}/${objects} objects found (IoU ≥ 0.5), mean IoU ${f(mean(ious), 3)}, min ${f(Math.min(...ious), 3)}; `
    + `**mean angle error ${f(mean(errs), 3)}°**, p95 ${f(pct(errs, 0.95), 3)}°, max ${f(Math.max(...errs), 3)}°`);

  // ------------------------------------------------------------ 3. model engines' own overhead
  const W = 1200, H = 860;
  const img = { data: new Uint8Array(W * H * 3).fill(90), width: W, height: H, channels: 3 };
  for (let y = 200; y < 600; y++) for (let x = 300; x < 800; x++) img.data[(y * W + x) * 3] = 255;
  const tv = await buildTorchvisionMaskRcnn(path.join(tmp, 'tv.onnx'), [
    { box: [300, 200, 800, 600], label: 1, score: 0.9 }, { box: [100, 100, 400, 300], label: 2, score: 0.8 }, { box: [0, 0, 10, 10], label: 3, score: 0.1 },
  ]);
  const ratio = Math.min(800 / H, 1280 / W, 960 / H);
  const zooDets = Array.from({ length: 20 }, (_, i) => ({ box: [(20 + i * 50) * ratio, 100 * ratio, (120 + i * 50) * ratio, 500 * ratio] as [number, number, number, number], label: 1 + (i % 80), score: 0.9 - i * 0.01 }));
  const zoo = await buildZooMaskRcnn(path.join(tmp, 'zoo.onnx'), zooDets, zooDets.map(() => new Float32Array(784).fill(0.8)));
  // YOLO at its usual 640 input with 8400 anchors and 80 classes; 20 anchors above the threshold.
  const anchors = Array.from({ length: 8400 }, (_, a) => {
    const row = new Array(4 + 80 + 2).fill(0);
    if (a % 420 === 0) { row.splice(0, 4, 40 + (a / 420) * 28, 320, 40, 200); row[4 + (a % 80)] = 0.9; row[84] = 1; }
    return row;
  });
  const yolo = await buildYoloSeg(path.join(tmp, 'yolo.onnx'), { size: 640, nc: 80, protoBox: [10, 40, 150, 120], output0: anchors });
  const models = { tv: { path: tv, format: 'mask-rcnn' as const }, zoo: { path: zoo, format: 'mask-rcnn-zoo' as const }, yolo: { path: yolo, format: 'yolo-seg' as const } };
  const mconfig = defaultConfig({ data: tmp, threads: 1, segment: { models } });
  const rows: string[] = [];
  for (const [name, shape] of [['tv', [3, H, W]], ['zoo', [3, Math.ceil(Math.round(H * ratio) / 32) * 32, Math.ceil(Math.round(W * ratio) / 32) * 32]], ['yolo', [1, 3, 640, 640]]] as const) {
    // The graph's own time, on an input of the size the engine feeds it.
    const session = await ort.InferenceSession.create(models[name].path, { intraOpNumThreads: 1 });
    const feed = { [session.inputNames[0]]: new ort.Tensor('float32', new Float32Array(shape.reduce((a, b) => a * b, 1)), [...shape]) };
    await session.run(feed);
    const runs: number[] = [];
    for (let i = 0; i < MODEL_RUNS; i++) { const t = performance.now(); await session.run(feed); runs.push(performance.now() - t); }
    await session.release();
    await segmentDecoded(img, { engine: name }, mconfig); // warm-up + session load
    const totals: number[] = [], cpus: number[] = [];
    let count = 0;
    for (let i = 0; i < MODEL_RUNS; i++) {
      const t = performance.now(), c = cpuMs();
      count = (await segmentDecoded(img, { engine: name }, mconfig)).result.count;
      totals.push(performance.now() - t);
      cpus.push(cpuMs() - c);
    }
    rows.push(`| ${name === 'tv' ? 'Mask R-CNN (torchvision layout, masks pasted by the model)' : name === 'zoo' ? 'Mask R-CNN (ONNX zoo layout, 28×28 masks pasted here)' : 'YOLO-seg (640, 8400 anchors × 80 classes, NMS here)'} | ${count} | ${f(mean(totals), 0)} ms | ${f(mean(runs), 1)} ms | **${f(mean(totals) - mean(runs), 0)} ms** | ${f(mean(cpus), 0)} ms |`);
  }
  say('- model engines with the tiny test models on a 1200×860 image (the graphs are trivial, so nearly all the time is Mediaflow\'s pre- and post-processing):');
  say('');
  say('| layout | objects | per image (wall) | of which `session.run` | overhead per image (wall) | CPU per image |');
  say('|---|---|---|---|---|---|');
  for (const r of rows) say(r);

  const section = [
    '## segment',
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}; load average ${f(load0)} at the start (the machine is shared, so wall times vary). Run: \`npx tsx bench/segment.bench.ts${QUICK ? ' --quick' : ''}\` (${new Date().toISOString().slice(0, 10)}).`,
    '',
    ...lines,
    '',
    'Goal: a 1-megapixel scene in well under a second on one core; angles within 1° of the truth for elongated objects.',
    '',
  ].join('\n');
  if (WRITE) {
    writeResultsSection('segment', section);
    console.log(`written to ${RESULTS_FILE}`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
