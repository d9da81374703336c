import { drawScene, randomScene, mulberry32 } from './test/helpers/scenes.js';
import { segmentPixels } from './src/processors/segment/builtin/builtin.engine.js';
const rnd = mulberry32(5);
const spec = randomScene(rnd, { width: 1200, height: 850, count: 6, noise: 10 });
const scene = drawScene(spec);
for (let k = 0; k < 6; k++) {
  let last = (process.cpuUsage().user/1000); const marks: string[] = [];
  const t0 = (process.cpuUsage().user/1000);
  segmentPixels({ data: scene.rgb, width: scene.width, height: scene.height, channels: 3 }, { onProgress: (f, s) => { const now = (process.cpuUsage().user/1000); marks.push(`${s}:${(now - last).toFixed(0)}`); last = now; } });
  console.log(((process.cpuUsage().user/1000) - t0).toFixed(0), marks.join(' '), 'end:', ((process.cpuUsage().user/1000) - last).toFixed(0));
}
