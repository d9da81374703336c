import os from 'node:os'; import path from 'node:path'; import { mkdtemp } from 'node:fs/promises';
import { defaultConfig } from './src/config/load-config.js';
import { segmentDecoded } from './src/processors/segment/segment.service.js';
import { buildZooMaskRcnn, buildYoloSeg } from './test/helpers/onnx-models.js';
const tmp = await mkdtemp(path.join(os.tmpdir(), 'zp-'));
const W = 1200, H = 860;
const img = { data: new Uint8Array(W * H * 3).fill(90), width: W, height: H, channels: 3 };
const ratio = Math.min(800 / H, 1280 / W, 960 / H);
const zooDets = Array.from({ length: 20 }, (_, i) => ({ box: [(20 + i * 50) * ratio, 100 * ratio, (120 + i * 50) * ratio, 500 * ratio] as [number, number, number, number], label: 1 + (i % 80), score: 0.9 - i * 0.01 }));
const zoo = await buildZooMaskRcnn(path.join(tmp, 'zoo.onnx'), zooDets, zooDets.map(() => new Float32Array(784).fill(0.8)));
const anchors = Array.from({ length: 8400 }, (_, a) => { const row = new Array(86).fill(0); if (a % 420 === 0) { row.splice(0, 4, 40 + (a / 420) * 28, 320, 40, 200); row[4 + (a % 80)] = 0.9; row[84] = 1; } return row; });
const yolo = await buildYoloSeg(path.join(tmp, 'yolo.onnx'), { size: 640, nc: 80, protoBox: [10, 40, 150, 120], output0: anchors });
const config = defaultConfig({ data: tmp, threads: 1, segment: { models: { zoo: { path: zoo, format: 'mask-rcnn-zoo' }, yolo: { path: yolo, format: 'yolo-seg' } } } });
for (const e of ['zoo', 'yolo', 'zoo', 'yolo', 'zoo', 'yolo']) { const t = performance.now(); const r = await segmentDecoded(img, { engine: e }, config, { onProgress: (f, s) => {} }); console.log(e, r.result.count, (performance.now() - t).toFixed(0)); }
