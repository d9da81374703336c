import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppConfig } from '../../../config/config.schema.js';
import { InputError, MediaflowError } from '../../../core/errors.js';
import { findCatalogueModel, resolveModel, segmentationModels } from '../../../models/index.js';
import type { ModelFormat } from './model.types.js';

export interface ResolvedEngine {
  name: string;
  path: string;
  format: ModelFormat;
  classesFile?: string;
}

/**
 * The model an `engine` param names: a model configured in `segment.models` (whose `path` may be a
 * catalogue id), or a catalogue model id; catalogue models are found by src/models (`resolveModel`).
 * A file that is not there is `MODEL_MISSING`, an unknown name `PARAMS_INVALID`.
 */
export async function resolveEngine(engine: string, config: AppConfig): Promise<ResolvedEngine> {
  const spec = config.segment.models[engine];
  if (spec) {
    const classes = spec.classes ? { classesFile: path.resolve(spec.classes) } : {};
    if (findCatalogueModel(spec.path)) return { name: engine, path: (await resolveModel(spec.path, config)).path, format: spec.format, ...classes };
    const file = path.resolve(spec.path);
    if (!await stat(file).then((s) => s.isFile(), () => false)) {
      throw new MediaflowError('MODEL_MISSING', `The model file for engine "${engine}" is missing (${file})`, { details: { model: engine, path: file } });
    }
    return { name: engine, path: file, format: spec.format, ...classes };
  }
  const entry = segmentationModels().find((m) => m.id === engine);
  if (entry) return { name: engine, path: (await resolveModel(engine, config)).path, format: entry.format };
  const names = engineNames(config);
  throw new InputError('PARAMS_INVALID', `Unknown segmentation engine "${engine}"; available: ${names.join(', ')}`, { details: { engines: names } });
}

/** Engine names a configuration offers (for docs and readiness). */
export function engineNames(config: AppConfig): string[] {
  return ['builtin', ...Object.keys(config.segment.models), ...segmentationModels().map((m) => m.id)];
}

/**
 * Submit-time check of an `engine` param: the name resolves and the model file is there (so a job
 * that could only fail is refused at once). Cheap: no model is loaded.
 */
export async function checkEngine(engine: string, config: AppConfig): Promise<void> {
  if (engine === 'builtin') return;
  await resolveEngine(engine, config);
}
