import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppConfig } from '../../../config/config.schema.js';
import { InputError, MediaflowError } from '../../../core/errors.js';
import { catalogueModelPath } from '../../../models/model-cache.js';
import { findCatalogueModel, MODEL_CATALOGUE } from '../../../models/models.catalogue.js';
import type { ModelFormat } from './model.types.js';

export interface ResolvedModel {
  name: string;
  path: string;
  format: ModelFormat;
  classesFile?: string;
}

/**
 * The model an `engine` param names: a model configured in `segment.models` (whose `path` may be a
 * catalogue id), or a catalogue model id (read from the model cache).
 */
export function resolveModel(engine: string, config: AppConfig): ResolvedModel {
  const spec = config.segment.models[engine];
  if (spec) {
    const entry = findCatalogueModel(spec.path);
    return {
      name: engine,
      path: entry ? catalogueModelPath(config, entry) : path.resolve(spec.path),
      format: spec.format,
      ...(spec.classes ? { classesFile: path.resolve(spec.classes) } : {}),
    };
  }
  const entry = findCatalogueModel(engine);
  if (entry) return { name: engine, path: catalogueModelPath(config, entry), format: entry.format };
  const names = engineNames(config);
  throw new InputError('PARAMS_INVALID', `Unknown segmentation engine "${engine}"; available: ${names.join(', ')}`, { details: { engines: names } });
}

/** Engine names a configuration offers (for docs and readiness). */
export function engineNames(config: AppConfig): string[] {
  return ['builtin', ...Object.keys(config.segment.models), ...MODEL_CATALOGUE.map((m) => m.id)];
}

/**
 * Submit-time check of an `engine` param: the name resolves and the model file is there (so a job
 * that could only fail is refused at once). Cheap: no model is loaded.
 */
export async function checkEngine(engine: string, config: AppConfig): Promise<void> {
  if (engine === 'builtin') return;
  const spec = resolveModel(engine, config);
  const present = await stat(spec.path).then((s) => s.isFile(), () => false);
  if (!present) {
    const hint = findCatalogueModel(engine) ?? findCatalogueModel(config.segment.models[engine]?.path ?? '');
    throw new MediaflowError('MODEL_MISSING', `The model file for engine "${engine}" is missing (${spec.path})${hint ? `; fetch it with \`mediaflow models fetch ${hint.id}\`` : ''}`);
  }
}
