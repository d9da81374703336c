import { drawScene } from './test/helpers/scenes.js';
import { distanceTransform } from './src/processors/segment/builtin/distance.transform.js';
import { watershedSplit } from './src/processors/segment/builtin/watershed.split.js';
import { segmentPixels } from './src/processors/segment/builtin/builtin.engine.js';
const bg: [number, number, number] = [200, 200, 195];
const W = 640, H = 480;
const sc = drawScene({ width: W, height: H, background: bg, shapes: [
  { kind: 'ellipse', cx: 250, cy: 240, length: 260, width: 110, angle: 70, color: [40, 40, 160] },
  { kind: 'ellipse', cx: 250 + 106 * Math.cos(-20 * Math.PI / 180), cy: 240 - 106 * Math.sin(-20 * Math.PI / 180), length: 260, width: 110, angle: 70, color: [160, 40, 40] },
] });
const seg = segmentPixels({ data: sc.rgb, width: W, height: H, channels: 3 }, { splitTouching: false });
const mask = Uint8Array.from(seg.labels, (v) => v ? 1 : 0);
const union = new Uint8Array(W * H); for (let i = 0; i < union.length; i++) union[i] = sc.masks[0][i] | sc.masks[1][i];
let diff = 0; for (let i = 0; i < mask.length; i++) if (mask[i] !== union[i]) diff++;
console.log('count', seg.count, 'diff px vs truth union', diff);
const dd = distanceTransform(mask, W, H);
const mid = [250 + 53 * Math.cos(-20 * Math.PI / 180), 240 + 53 * Math.sin(20 * Math.PI / 180)];
console.log('at mid', dd[Math.round(mid[1]) * W + Math.round(mid[0])]);
console.log('ws', watershedSplit(mask, dd, W, H).count);
// print ascii of the neck region
for (let y = Math.round(mid[1]) - 70; y < Math.round(mid[1]) + 70; y += 4) {
  let row = '';
  for (let x = Math.round(mid[0]) - 30; x < Math.round(mid[0]) + 30; x += 1) row += mask[y * W + x] ? (union[y * W + x] ? '#' : '+') : (union[y * W + x] ? '-' : '.');
  console.log(row);
}
