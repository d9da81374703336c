import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeIdlePools } from '../../src/processors/upscale/inference.pool.js';
import { upscaleRaw } from '../../src/processors/upscale/upscale.pipeline.js';
import { bicubic, photoCrop, psnr } from './upscale-media.js';

after(async () => { await closeIdlePools(); });

/**
 * The ONNX graph is Mediaflow's own translation of the TF.js layers models; the tfjs-wasm engine
 * runs the models as published. Both must give the same image.
 */
for (const [model, scale, size] of [['slim', 2, 48], ['medium', 3, 32], ['thick', 4, 24]] as const) {
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
    // …and both are real super-resolution, not a copy of each other's mistake.
    const floor = psnr((await bicubic(lr, size * scale, size * scale)).data, hr.data);
    assert.ok(psnr(tfjs.image.data, hr.data) > floor, 'better than bicubic');
  });
}
