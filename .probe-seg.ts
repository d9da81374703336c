import { drawScene, pixelIou, angleDiff, randomScene, mulberry32 } from './test/helpers/scenes.js';
import { segmentPixels } from './src/processors/segment/builtin/builtin.engine.js';
import { rleFromLabels } from './src/processors/segment/coco-rle.js';
import { rleMoments } from './src/processors/segment/mask.moments.js';
const rnd = mulberry32(5);
for (const variant of [{}, { noise: 15, tilt: 0.5, vignette: 0.3 }]) {
  for (let k = 0; k < 5; k++) {
    const spec = randomScene(rnd, { width: 1200, height: 850, count: 6, ...variant });
    const scene = drawScene(spec);
    const t0 = performance.now();
    const seg = segmentPixels({ data: scene.rgb, width: scene.width, height: scene.height, channels: 3 });
    const t1 = performance.now();
    let worstIou = 1, worstAng = 0;
    for (let i = 0; i < spec.shapes.length; i++) {
      // find best matching label
      let best = 0, bestL = 0;
      for (let l = 1; l <= seg.count; l++) {
        const m = Uint8Array.from(seg.labels, (v) => v === l ? 1 : 0);
        const iou = pixelIou(m, scene.masks[i]);
        if (iou > best) { best = iou; bestL = l; }
      }
      worstIou = Math.min(worstIou, best);
      if (bestL) {
        const mom = rleMoments(rleFromLabels(seg.labels, seg.height, seg.width, bestL, seg.boxes[bestL]))!;
        worstAng = Math.max(worstAng, angleDiff(mom.angle, spec.shapes[i].angle));
      }
    }
    console.log(JSON.stringify(variant), 'count', seg.count, 'of', spec.shapes.length, 'ms', (t1 - t0).toFixed(0), 'worstIoU', worstIou.toFixed(3), 'worstAngle', worstAng.toFixed(2), 'thr', seg.threshold.toFixed(1), 'noise', seg.noise?.toFixed(2));
  }
}
