import { defaultConfig } from './src/config/load-config.js';
import { createLocalContext, fileInputFromPath } from './src/worker/local-context.js';
import { segmentProcessor } from './src/processors/segment/index.js';
import sharp from 'sharp';
const config = defaultConfig();
for (const f of process.argv.slice(2)) {
  const ctx = await createLocalContext({ config, outDir: '/tmp/segprobe/out-' + f.replace(/\W/g, '_') });
  const input = await fileInputFromPath('/work/shared/fixtures/' + f, 'image/jpeg');
  const r: any = await segmentProcessor.run(ctx, input, { engine: 'builtin', mask_threshold: 0.5, iou_threshold: 0.7, split_touching: true, fill_holes: true, max_instances: 100, overlay: true });
  await sharp('/tmp/segprobe/out-' + f.replace(/\W/g, '_') + '/overlay.png').resize(800, 800, { fit: 'inside' }).toFile('/tmp/segprobe/' + f.replace(/\W/g, '_') + '.png');
  console.log(f, r.count);
  await ctx.dispose();
}
