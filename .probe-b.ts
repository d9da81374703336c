import os from 'node:os'; import path from 'node:path'; import { mkdtemp } from 'node:fs/promises';
import { defaultConfig } from './src/config/load-config.js';
import { segmentImage } from './src/processors/segment/segment.service.js';
import { drawScene, mulberry32, randomScene, writeScene } from './test/helpers/scenes.js';
const tmp = await mkdtemp(path.join(os.tmpdir(), 'bp-'));
const rnd = mulberry32(3); const files: string[] = [];
for (let i = 0; i < 4; i++) { const f = path.join(tmp, i + '.png'); await writeScene(drawScene(randomScene(rnd, { width: 1200, height: 860, count: 6, noise: 8 })), f); files.push(f); }
const config = defaultConfig();
const cpu = () => process.cpuUsage().user / 1000;
for (let k = 0; k < 3; k++) for (const f of files) { const c = cpu(); const t = performance.now(); await segmentImage(f, {}, config); console.log('cpu', (cpu() - c).toFixed(0), 'wall', (performance.now() - t).toFixed(0)); }
