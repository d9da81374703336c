import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { MediaflowError } from '../../core/errors.js';

/** One weight tensor as listed in a TF.js `weightsManifest`. */
export interface WeightSpec {
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** A Keras layer as serialised in a TF.js layers model (`modelTopology.model_config.config.layers`). */
export interface KerasLayer {
  class_name: string;
  name: string;
  config: Record<string, unknown>;
  /** `[[[inboundLayerName, nodeIndex, tensorIndex, kwargs], ...]]` */
  inbound_nodes: [string, number, number, unknown][][];
}

/** A TF.js layers model read from disk: what both runtimes (tfjs-wasm and ONNX) are built from. */
export interface LayersModelFiles {
  /** The model.json's `modelTopology` (Keras functional model). */
  modelTopology: { model_config: { class_name: string; config: { layers: KerasLayer[]; input_layers: unknown[]; output_layers: [string, number, number][] } } } & Record<string, unknown>;
  format?: string;
  generatedBy?: string;
  convertedBy?: string;
  weightSpecs: WeightSpec[];
  /** All shards concatenated in manifest order, which is the order of `weightSpecs`. */
  weightData: ArrayBuffer;
}

/**
 * Reads a TF.js layers model (model.json + its weight shards) from disk. This is the custom
 * IOHandler's `load()`: TF.js's own `file://` handler only exists in tfjs-node, which cannot be
 * installed offline, and `fetch` cannot read files.
 */
export async function readLayersModel(modelJsonPath: string): Promise<LayersModelFiles> {
  const dir = path.dirname(modelJsonPath);
  let json: {
    format?: string; generatedBy?: string; convertedBy?: string;
    modelTopology?: LayersModelFiles['modelTopology'];
    weightsManifest?: { paths: string[]; weights: (WeightSpec & { quantization?: unknown })[] }[];
  };
  try {
    json = JSON.parse(await readFile(modelJsonPath, 'utf8'));
  } catch (err) {
    throw new MediaflowError('MODEL_MISSING', `cannot read model ${modelJsonPath}: ${(err as Error).message}`, { cause: err });
  }
  if (json.format !== 'layers-model' || !json.modelTopology?.model_config || !Array.isArray(json.weightsManifest)) {
    throw new MediaflowError('MODEL_MISSING', `${modelJsonPath} is not a TF.js layers model`);
  }
  const specs = json.weightsManifest.flatMap((g) => g.weights);
  for (const s of specs) {
    if (s.dtype !== 'float32' || s.quantization) {
      throw new MediaflowError('MODEL_MISSING', `${modelJsonPath}: weight ${s.name} is ${s.dtype}${s.quantization ? ' (quantized)' : ''}; only float32 is supported`);
    }
  }
  const shards = await Promise.all(json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(path.join(dir, p))));
  const total = shards.reduce((n, b) => n + b.length, 0);
  const expected = specs.reduce((n, s) => n + 4 * s.shape.reduce((a, b) => a * b, 1), 0);
  if (total !== expected) {
    throw new MediaflowError('MODEL_MISSING', `${modelJsonPath}: weight shards hold ${total} bytes, the manifest needs ${expected}`);
  }
  const weightData = new ArrayBuffer(total);
  const view = new Uint8Array(weightData);
  let at = 0;
  for (const b of shards) { view.set(b, at); at += b.length; }
  return {
    modelTopology: json.modelTopology,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    weightSpecs: specs.map(({ name, shape, dtype }) => ({ name, shape, dtype })),
    weightData,
  };
}

/** The weights by name, as Float32Array views into `weightData` (no copy). */
export function weightsByName(files: LayersModelFiles): Map<string, { shape: number[]; data: Float32Array }> {
  const out = new Map<string, { shape: number[]; data: Float32Array }>();
  let offset = 0;
  for (const s of files.weightSpecs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    out.set(s.name, { shape: s.shape, data: new Float32Array(files.weightData, offset, n) });
    offset += 4 * n;
  }
  return out;
}
