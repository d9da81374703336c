import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { defaultConfig } from '../../src/config/load-config.js';
import { sniffMime } from '../../src/media/sniff.js';
import { shutdownUpscale, upscaleProcessor } from '../../src/processors/upscale/index.js';
import { createLocalContext, fileInputFromPath } from '../../src/worker/local-context.js';
import { bicubic, FIXTURE_IMAGES, photoCrop, psnr, readRaw } from './upscale-media.js';

const config = defaultConfig({ data: os.tmpdir(), threads: 2 });
let dir: string;

before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-upscale-quality-')); });
after(async () => {
  await shutdownUpscale();
  await rm(dir, { recursive: true, force: true });
});

/** The processor with its default model (no `model` param), as a user calls it. */
async function upscaleDefault(file: string, scale: 4): Promise<{ file: string; model: string }> {
  const outDir = await mkdtemp(path.join(dir, 'out-'));
  const ctx = await createLocalContext({ config, outDir });
  try {
    const input = await fileInputFromPath(file, await sniffMime(file));
    const result = await upscaleProcessor.run(ctx, input, { scale, tile: 256, quality: 90 });
    return { file: path.join(outDir, result.output.name), model: result.model };
  } finally {
    await ctx.dispose();
  }
}

test('the default ×4 model beats bicubic by at least 0.5 dB PSNR on the photo fixtures', async () => {
  const photos = (await readdir(FIXTURE_IMAGES)).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort();
  assert.ok(photos.length >= 9, 'the photo fixtures are there');
  const size = 192;
  let gainSum = 0;
  const gains: string[] = [];
  for (const name of photos) {
    // The centre crop of each photograph, downscaled by 4 with bicubic (what the models undo), as a PNG.
    const meta = await sharp(FIXTURE_IMAGES + name).metadata();
    const hr = await photoCrop(name, Math.floor((meta.width! - size) / 2), Math.floor((meta.height! - size) / 2), size, size);
    const lr = await bicubic(hr, size / 4, size / 4);
    const src = path.join(dir, `${name}.lr.png`);
    await sharp(lr.data, { raw: { width: lr.width, height: lr.height, channels: 3 } }).png().toFile(src);
    const floor = psnr((await bicubic(lr, size, size)).data, hr.data);
    const out = await upscaleDefault(src, 4);
    const gain = psnr((await readRaw(out.file, 3)).data, hr.data) - floor;
    gainSum += gain;
    gains.push(`${name} ${out.model} ${gain >= 0 ? '+' : ''}${gain.toFixed(2)}`);
  }
  const mean = gainSum / photos.length;
  // Measured: medium +0.75 dB on average (slim, the fastest model, +0.44 dB); bench/RESULTS.md.
  assert.ok(mean >= 0.5, `mean PSNR gain over bicubic ${mean.toFixed(2)} dB (${gains.join(', ')})`);
});
