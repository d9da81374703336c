import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../jobs/errors.js';

/**
 * The ESRGAN model families Mediaflow ships, all from the `@upscalerjs/*` npm packages (MIT,
 * © Kevin Scott; trained on DIV2K with bicubic degradation). Each package holds one TF.js
 * layers model per scale in `models/x<scale>/model.json` + weight shards.
 *
 * Speed/quality (measured in bench/RESULTS.md, "## upscale"):
 * - `slim`: RDN, 2 dense blocks of 4-channel growth, ~0.2 M parameters. Fastest; a small, steady
 *   gain over bicubic.
 * - `medium`: RDN, 10 dense blocks, ~0.7 M parameters. About 3× slower than slim, a little sharper.
 * - `thick`: RRDN (ESRGAN's residual-in-residual dense blocks), ~7 M parameters. By far the best
 *   detail, and 20–50× slower than slim.
 */
export type ModelName = 'slim' | 'medium' | 'thick';
export type Scale = 2 | 3 | 4 | 8;

export interface ModelFamily {
  readonly npmPackage: string;
  readonly scales: readonly Scale[];
  /**
   * The value range the network was trained on, from the package's own model definition
   * (`packages/shared/src/esrgan/esrgan.js`): RDN models take and give 0..255, RRDN models 0..1.
   */
  readonly range: 255 | 1;
  /**
   * Input pixels of context each tile needs on every side so that its kept centre matches an
   * untiled run (measured: beyond this the difference is below one 8-bit level; see
   * test/integration/upscale-tiling.test.ts).
   */
  readonly context: number;
}

export const MODEL_FAMILIES: Readonly<Record<ModelName, ModelFamily>> = {
  slim: { npmPackage: '@upscalerjs/esrgan-slim', scales: [2, 3, 4, 8], range: 255, context: 12 },
  medium: { npmPackage: '@upscalerjs/esrgan-medium', scales: [2, 3, 4, 8], range: 255, context: 16 },
  thick: { npmPackage: '@upscalerjs/esrgan-thick', scales: [2, 3, 4, 8], range: 1, context: 24 },
};

export const MODEL_NAMES = Object.keys(MODEL_FAMILIES) as ModelName[];
export const SCALES: readonly Scale[] = [2, 3, 4, 8];

/** The id of one model file, also the key for a path override in `config.models.paths`. */
export function modelId(model: ModelName, scale: Scale): string {
  return `esrgan-${model}-x${scale}`;
}

const require = createRequire(import.meta.url);

/**
 * The folder of an installed npm package. The `@upscalerjs/*` packages have an `exports` map
 * without `./package.json`, so resolve their entry point and walk up to the package root.
 */
function packageRoot(name: string): string | undefined {
  let entry: string;
  try {
    entry = require.resolve(name);
  } catch {
    return undefined;
  }
  for (let dir = path.dirname(entry); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === name) return dir;
      } catch { /* keep walking */ }
    }
  }
  return undefined;
}

/**
 * The `model.json` of a model on disk: a `config.models.paths` override (by `modelId`) first, then
 * the npm package. `@upscalerjs/default-model` holds the same bytes as slim ×2, so it is a fallback
 * for that one model.
 */
export function locateModel(model: ModelName, scale: Scale, config?: AppConfig): string {
  const family = MODEL_FAMILIES[model];
  if (!family.scales.includes(scale)) {
    throw new MediaflowError('PARAMS_INVALID', `model ${model} has no ×${scale} weights (available: ${family.scales.join(', ')})`);
  }
  const id = modelId(model, scale);
  const override = config?.models.paths[id];
  const candidates: string[] = [];
  if (override) candidates.push(path.resolve(override));
  const root = packageRoot(family.npmPackage);
  if (root) candidates.push(path.join(root, 'models', `x${scale}`, 'model.json'));
  if (model === 'slim' && scale === 2) {
    const def = packageRoot('@upscalerjs/default-model');
    if (def) candidates.push(path.join(def, 'models', 'model.json'));
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found) {
    throw new MediaflowError('MODEL_MISSING', `model ${id} not found (install ${family.npmPackage}, or set models.paths["${id}"])`, {
      details: { model: id, looked: candidates },
    });
  }
  return found;
}
