import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { readLayersModel } from './esrgan.weights.js';
import type { RuntimeSpec, SrRuntime } from './runtime.types.js';

/**
 * The reference engine: the models exactly as their packages intend them, in TF.js layers format,
 * on `@tensorflow/tfjs` with the WebAssembly backend (SIMD where the CPU has it). In Node the wasm
 * backend runs single-threaded (tfjs turns its pthread build off under Node), so the pool starts
 * one such engine per thread, each in its own worker thread.
 */

let backendReady: Promise<void> | undefined;

function wasmDir(): string {
  // The .wasm binaries ship in the package's dist/ folder; point tfjs at them on disk rather than
  // letting it fetch them.
  const require = createRequire(import.meta.url);
  return path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm')) + path.sep;
}

async function initBackend(): Promise<void> {
  backendReady ??= (async () => {
    setWasmPaths(wasmDir());
    if (!(await tf.setBackend('wasm'))) throw new Error('the tfjs wasm backend failed to initialise');
    await tf.ready();
  })();
  return backendReady;
}

let customLayersRegistered = false;

/**
 * The RRDN (thick) models use two custom layers, defined in the packages' `esrgan.js`
 * `setup()`; they are registered here the same way (the packages' own code expects to receive the
 * tf namespace from the `upscaler` library).
 */
function registerCustomLayers(): void {
  if (customLayersRegistered) return;
  customLayersRegistered = true;
  const first = (inputs: tf.Tensor | tf.Tensor[]) => (Array.isArray(inputs) ? inputs[0] : inputs);
  class MultiplyBeta extends tf.layers.Layer {
    static className = 'MultiplyBeta';
    private readonly beta = 0.2;
    override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
      return tf.mul(first(inputs), this.beta);
    }
  }
  tf.serialization.registerClass(MultiplyBeta);
  for (const s of [2, 3, 4, 8]) {
    class PixelShuffle extends tf.layers.Layer {
      static className = `PixelShuffle${s}x`;
      override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape {
        const sh = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
        return [sh[0], sh[1] == null ? null : sh[1] * s, sh[2] == null ? null : sh[2] * s, 3];
      }
      override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
        return tf.depthToSpace(first(inputs) as tf.Tensor4D, s, 'NHWC');
      }
    }
    tf.serialization.registerClass(PixelShuffle);
  }
}

export async function createTfjsRuntime(spec: RuntimeSpec): Promise<SrRuntime> {
  await initBackend();
  registerCustomLayers();
  const files = await readLayersModel(spec.modelPath);
  // A custom IOHandler: the files are already read from disk.
  const model = await tf.loadLayersModel({ load: async () => files as unknown as tf.io.ModelArtifacts });
  const probe = tf.tidy(() => model.predict(tf.zeros([1, 4, 4, 3])) as tf.Tensor);
  const scale = probe.shape[1]! / 4;
  probe.dispose();
  const k = spec.range === 1 ? 1 / 255 : 1;
  return {
    kind: 'tfjs',
    scale,
    async run(tile, h, w) {
      const out = tf.tidy(() => {
        const x = tf.tensor4d(tile, [1, h, w, 3]);
        const y = model.predict(k === 1 ? x : x.mul(k)) as tf.Tensor;
        return (k === 1 ? y : y.mul(255)).clipByValue(0, 255);
      });
      try {
        return (await out.data()) as Float32Array;
      } finally {
        out.dispose();
      }
    },
    async dispose() {
      model.dispose();
    },
  };
}
