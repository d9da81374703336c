/**
 * A super-resolution engine running one model. Both implementations share one contract so the
 * tiling pipeline does not care which runs: tile in, tile out, NHWC float32 RGB in 0..255.
 */
export type RuntimeKind = 'onnx' | 'tfjs';

export interface RuntimeSpec {
  kind: RuntimeKind;
  /** The model.json of a TF.js layers model (the ONNX runtime converts it in memory). */
  modelPath: string;
  /** Value range the network is fed and read in (see MODEL_FAMILIES.range). */
  range: 255 | 1;
  /** Threads this engine may use (ONNX intra-op threads; tfjs-wasm is single-threaded in Node). */
  threads: number;
}

export interface SrRuntime {
  readonly kind: RuntimeKind;
  readonly scale: number;
  /** `tile` is [h, w, 3] NHWC 0..255; the result is [h·scale, w·scale, 3], clipped to 0..255. */
  run(tile: Float32Array, h: number, w: number): Promise<Float32Array>;
  dispose(): Promise<void>;
}
