import { defaultConfig } from './src/config/load-config.js';
import { segmentImage } from './src/processors/segment/segment.service.js';
import { orientationOfImage } from './src/processors/orientation/orientation.service.js';
const config = defaultConfig();
for (const f of ['objects/a-pen-i-am.jpg', 'objects/coins.png', 'objects/flower.jpg', 'objects/dog-human.jpg', 'objects/baby-bear.jpg', 'objects/scene_bakery.jpg']) {
  const t0 = performance.now();
  const r = await segmentImage('/work/shared/fixtures/' + f, {}, config);
  const o = await orientationOfImage('/work/shared/fixtures/' + f, {}, config);
  console.log(f, (performance.now() - t0).toFixed(0) + 'ms', 'count', r.count, JSON.stringify(r.builtin), 'areas', r.instances.slice(0, 5).map((i) => i.area + '@' + i.angle).join(' '), '| degree', o.degree, o.elongation, o.reliable);
}
