import path from 'node:path';
import type { AppConfig } from '../config/config.schema.js';
import type { CatalogueModel } from './models.catalogue.js';

/** The model cache folder: `models.dir`, or `<data>/models`. */
export function modelCacheDir(config: AppConfig): string {
  return path.resolve(config.models.dir ?? path.join(config.data, 'models'));
}

/** Where a catalogue model is read from: a `models.paths` override, else its file in the cache. */
export function catalogueModelPath(config: AppConfig, model: CatalogueModel): string {
  return path.resolve(config.models.paths[model.id] ?? path.join(modelCacheDir(config), model.file));
}
