import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeIdlePools } from '../../src/processors/upscale/inference.pool.js';
import { upscaleRaw } from '../../src/processors/upscale/upscale.pipeline.js';
import { bicubic, photoCrop, psnr } from './upscale-media.js';

after(async () => { await closeIdlePools(); });

/**
 * The ONNX graph is Mediaflow's own translation of the TF.js layers models (with the upsampling
 * folded into the next convolution for slim and medium); the tfjs-wasm engine runs the models as
 * published. Both must give the same image.
 */
for (const [model, scale, size] of [['slim', 2, 48], ['medium', 3, 32], ['slim', 8, 12], ['thick', 4, 24]] as const) {
  test(`tfjs-wasm and ONNX agree: ${model} ×${scale}`, async () => {
    const hr = await photoCrop('astronaut.png', 140, 80, size * scale, size * scale);
    const lr = await bicubic(hr, size, size);
    const raw = { data: lr.data, width: size, height: size, channels: 3 as const };
    const onnx = await upscaleRaw(raw, { model, scale, tile: 4096, runtime: 'onnx', threads: 2 });
    // tfjs with tiles on two engine threads, ONNX untiled: agreement also covers the tiling.
    const tfjs = await upscaleRaw(raw, { model, scale, tile: Math.ceil(size / 2), runtime: 'tfjs', threads: 2 });
    assert.equal(onnx.runtime, 'onnx');
    assert.equal(tfjs.runtime, 'tfjs');
    const agreement = psnr(onnx.image.data, tfjs.image.data);
    assert.ok(agreement > 55, `onnx vs tfjs ${agreement.toFixed(1)} dB`);
    // …and both are real super-resolution, not a copy of each other's mistake (×8 from a 12-pixel
    // crop is too little input for that comparison to mean anything).
    if (scale <= 4) {
      const floor = psnr((await bicubic(lr, size * scale, size * scale)).data, hr.data);
      assert.ok(psnr(tfjs.image.data, hr.data) > floor, 'better than bicubic');
    }
  });
}

test('models.paths overrides where a model is read from; broken model files are reported', async () => {
  const { mkdtemp, readFile, writeFile, copyFile, rm } = await import('node:fs/promises');
  const os = await import('node:os');
  const path = await import('node:path');
  const { defaultConfig } = await import('../../src/config/load-config.js');
  const { locateModel } = await import('../../src/processors/upscale/esrgan.models.js');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-upscale-model-'));
  try {
    const original = locateModel('slim', 2);
    const json = JSON.parse(await readFile(original, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    await copyFile(original, path.join(dir, 'model.json'));
    const shard = json.weightsManifest[0].paths[0];
    // Same architecture, all weights zero: the network then outputs 0 everywhere.
    const size = (await readFile(path.join(path.dirname(original), shard))).length;
    await writeFile(path.join(dir, shard), Buffer.alloc(size));
    const config = defaultConfig({ models: { paths: { 'esrgan-slim-x2': path.join(dir, 'model.json') } } });
    assert.equal(locateModel('slim', 2, config), path.join(dir, 'model.json'));
    const img = await photoCrop('coffee.png', 100, 100, 24, 24);
    const out = await upscaleRaw({ ...img, channels: 3 }, { model: 'slim', scale: 2, tile: 256, threads: 1, config });
    assert.ok(out.image.data.every((v) => v === 0), 'the overriding (zeroed) weights were used');

    await writeFile(path.join(dir, shard), Buffer.alloc(size - 4));
    await closeIdlePools(); // an idle engine keeps the weights it loaded
    await assert.rejects(
      upscaleRaw({ ...img, channels: 3 }, { model: 'slim', scale: 2, tile: 256, threads: 1, config }),
      (err: unknown) => (err as { code?: string }).code === 'MODEL_MISSING',
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
