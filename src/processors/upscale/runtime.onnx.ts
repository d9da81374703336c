import * as ort from 'onnxruntime-node';
import { convertLayersModelToOnnx } from './esrgan.onnx.js';
import { readLayersModel } from './esrgan.weights.js';
import type { RuntimeSpec, SrRuntime } from './runtime.types.js';

/**
 * The default engine: the model's TF.js weights translated to ONNX in memory (esrgan.onnx.ts) and
 * run by onnxruntime-node on the CPU. 5–10× faster than tfjs-wasm on the same weights here
 * (bench/RESULTS.md), because its kernels are native and multi-threaded.
 */
export async function createOnnxRuntime(spec: RuntimeSpec): Promise<SrRuntime> {
  const files = await readLayersModel(spec.modelPath);
  const { bytes, scale } = convertLayersModelToOnnx(files, { range: spec.range });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: Math.max(1, spec.threads),
    interOpNumThreads: 1,
    // ONNX Runtime's threads busy-wait between operators by default. The cores are shared with
    // the worker process's event loop (which blends tiles and answers heartbeats) and with other
    // jobs, so they sleep instead.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    kind: 'onnx',
    scale,
    async run(tile, h, w) {
      const input = new ort.Tensor('float32', tile, [1, h, w, 3]);
      const out = await session.run({ image: input });
      const result = out.upscaled;
      const data = result.data as Float32Array;
      input.dispose?.();
      return data;
    },
    async dispose() {
      await session.release();
    },
  };
}
