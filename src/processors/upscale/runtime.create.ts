import type { RuntimeSpec, SrRuntime } from './runtime.types.js';

/** The engine a spec names. Dynamic imports: a process only loads the engine it uses. */
export async function createRuntime(spec: RuntimeSpec): Promise<SrRuntime> {
  if (spec.kind === 'onnx') return (await import('./runtime.onnx.js')).createOnnxRuntime(spec);
  return (await import('./runtime.tfjs.js')).createTfjsRuntime(spec);
}
