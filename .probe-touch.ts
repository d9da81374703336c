import { drawScene, pixelIou, angleDiff, type SceneSpec } from './test/helpers/scenes.js';
import { segmentPixels } from './src/processors/segment/builtin/builtin.engine.js';
import { rleFromLabels } from './src/processors/segment/coco-rle.js';
import { rleMoments } from './src/processors/segment/mask.moments.js';
function run(name: string, spec: SceneSpec) {
  const scene = drawScene(spec);
  const seg = segmentPixels({ data: scene.rgb, width: scene.width, height: scene.height, channels: 3 });
  const out: string[] = [];
  for (let i = 0; i < spec.shapes.length; i++) {
    let best = 0, bestL = 0;
    for (let l = 1; l <= seg.count; l++) { const iou = pixelIou(Uint8Array.from(seg.labels, (v) => v === l ? 1 : 0), scene.masks[i]); if (iou > best) { best = iou; bestL = l; } }
    const mom = bestL ? rleMoments(rleFromLabels(seg.labels, seg.height, seg.width, bestL, seg.boxes[bestL]))! : null;
    out.push(`#${i} iou=${best.toFixed(3)} ang=${mom?.angle.toFixed(2)} truth=${spec.shapes[i].angle} el=${mom?.elongation.toFixed(2)}`);
  }
  console.log(name, 'count', seg.count, '/', spec.shapes.length, 'thr', seg.threshold.toFixed(1), out.join(' | '));
}
const bg: [number, number, number] = [200, 200, 195];
run('touching ellipses', { width: 640, height: 480, background: bg, shapes: [
  { kind: 'ellipse', cx: 250, cy: 240, length: 260, width: 110, angle: 70, color: [40, 40, 160] },
  { kind: 'ellipse', cx: 250 + 106 * Math.cos(-20 * Math.PI / 180), cy: 240 - 106 * Math.sin(-20 * Math.PI / 180), length: 260, width: 110, angle: 70, color: [160, 40, 40] },
] });
run('touching circles', { width: 640, height: 480, background: bg, shapes: [
  { kind: 'ellipse', cx: 220, cy: 240, length: 160, width: 160, angle: 0, color: [30, 30, 30] },
  { kind: 'ellipse', cx: 370, cy: 240, length: 160, width: 160, angle: 0, color: [30, 30, 30] },
] });
run('noisy touching', { width: 640, height: 480, background: bg, noise: 14, tilt: 0.4, vignette: 0.3, shapes: [
  { kind: 'ellipse', cx: 250, cy: 240, length: 260, width: 110, angle: 70, color: [40, 40, 160] },
  { kind: 'ellipse', cx: 250 + 106 * Math.cos(-20 * Math.PI / 180), cy: 240 - 106 * Math.sin(-20 * Math.PI / 180), length: 260, width: 110, angle: 70, color: [160, 40, 40] },
] });
run('faint+dark', { width: 800, height: 600, background: bg, noise: 6, shapes: [
  { kind: 'rect', cx: 200, cy: 200, length: 250, width: 60, angle: 30, color: [10, 10, 10] },
  { kind: 'rect', cx: 550, cy: 400, length: 250, width: 80, angle: -45, color: [165, 165, 160] },
  { kind: 'ellipse', cx: 600, cy: 150, length: 200, width: 70, angle: 5, color: [200, 150, 150] },
] });
run('empty noisy uneven', { width: 800, height: 600, background: bg, noise: 15, tilt: 0.6, vignette: 0.4, shapes: [] });
run('empty clean', { width: 800, height: 600, background: bg, shapes: [] });
run('border touching', { width: 800, height: 600, background: [40, 40, 40], noise: 5, shapes: [
  { kind: 'rect', cx: 30, cy: 300, length: 300, width: 80, angle: 10, color: [220, 220, 220] },
  { kind: 'ellipse', cx: 400, cy: 300, length: 300, width: 100, angle: -60, color: [220, 200, 50] },
] });
run('rect rows', { width: 900, height: 500, background: [245, 245, 245], noise: 8, tilt: 0.3, shapes: [
  { kind: 'rect', cx: 150, cy: 250, length: 300, width: 40, angle: 89, color: [0, 90, 0] },
  { kind: 'rect', cx: 350, cy: 250, length: 300, width: 40, angle: -89.5, color: [0, 0, 120] },
  { kind: 'rect', cx: 600, cy: 250, length: 400, width: 30, angle: 0.5, color: [130, 0, 0] },
  { kind: 'ellipse', cx: 600, cy: 400, length: 120, width: 120, angle: 0, color: [30, 30, 30] },
] });

run('tip touch', { width: 700, height: 400, background: bg, noise: 10, shapes: [
  { kind: 'rect', cx: 200, cy: 200, length: 240, width: 60, angle: 15, color: [30, 30, 90] },
  { kind: 'ellipse', cx: 450, cy: 200, length: 240, width: 90, angle: -30, color: [30, 30, 90] },
] });
