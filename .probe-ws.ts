import { watershedSplit } from './src/processors/segment/builtin/watershed.split.js';
import { distanceTransform } from './src/processors/segment/builtin/distance.transform.js';
// two discs r=40 centres 70 apart
const w = 200, h = 120; const m = new Uint8Array(w * h);
for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) if (Math.hypot(x - 60, y - 60) < 40 || Math.hypot(x - 130, y - 60) < 40) m[y * w + x] = 1;
const d = distanceTransform(m, w, h);
console.log('peak', d[60 * w + 60], 'neck', d[60 * w + 95]);
const r = watershedSplit(m, d, w, h);
console.log('count', r.count);
import { drawScene } from './test/helpers/scenes.js';
import { segmentPixels } from './src/processors/segment/builtin/builtin.engine.js';
const bg: [number, number, number] = [200, 200, 195];
const sc = drawScene({ width: 640, height: 480, background: bg, shapes: [
  { kind: 'ellipse', cx: 250, cy: 240, length: 260, width: 110, angle: 70, color: [40, 40, 160] },
  { kind: 'ellipse', cx: 250 + 106 * Math.cos(-20 * Math.PI / 180), cy: 240 - 106 * Math.sin(-20 * Math.PI / 180), length: 260, width: 110, angle: 70, color: [160, 40, 40] },
] });
const W = 640, H = 480;
const union = new Uint8Array(W * H); for (let i = 0; i < union.length; i++) union[i] = sc.masks[0][i] | sc.masks[1][i];
const dd = distanceTransform(union, W, H);
let mx = 0; for (const v of dd) mx = Math.max(mx, v);
const mid = [250 + 53 * Math.cos(-20 * Math.PI / 180), 240 + 53 * Math.sin(20 * Math.PI / 180)];
console.log('max', mx, 'at mid', dd[Math.round(mid[1]) * W + Math.round(mid[0])]);
console.log('ws count on truth union', watershedSplit(union, dd, W, H).count);
const seg = segmentPixels({ data: sc.rgb, width: W, height: H, channels: 3 });
console.log('seg count', seg.count);
