import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { MediaflowError } from '../../core/errors.js';

/**
 * The ESRGAN model families Mediaflow ships, all from the `@upscalerjs/*` npm packages (MIT,
 * © Kevin Scott; trained on DIV2K with bicubic degradation). Each package holds one TF.js
 * layers model per scale in `models/x<scale>/model.json` + weight shards.
 *
 * Speed/quality (measured in bench/RESULTS.md, "## upscale"):
 * - `slim`: RDN, 2 dense blocks of 4-channel growth, ~0.2 M parameters. Fastest; a small, steady
 *   gain over bicubic.
 * - `medium`: RDN, 10 dense blocks, ~0.7 M parameters. 2–3× slower than slim, sharper.
 * - `thick`: RRDN (ESRGAN's residual-in-residual dense blocks), ~7 M parameters. By far the best
 *   detail, and about 20× slower than slim.
 */
export type ModelName = 'slim' | 'medium' | 'thick';
export type Scale = 2 | 3 | 4 | 8;

export interface ModelFamily {
  readonly npmPackage: string;
  readonly scales: readonly Scale[];
  /**
   * The value range each scale's network is fed and read in (0..255 or 0..1).
   *
   * The packages' own definitions (`packages/shared/src/esrgan/esrgan.js`) say 0..255 for the RDN
   * models (slim, medium) and 0..1 for RRDN (thick). But all twelve networks carry the same tiny
   * biases (|b| ≤ 0.04), the mark of training on 0..1 data (the ISR code they come from divides by
   * 255); an RDN with such biases is nearly scale-invariant, which is why 0..255 also works. Measured
   * on seven fixture photographs (mean PSNR gain over bicubic, 0..255 → 0..1): slim ×2 2.55 → 2.46,
   * ×3 1.35 → 1.55, ×4 0.48 → 0.59; medium ×2 2.79 → 2.66, ×3 1.62 → 1.83, ×4 0.46 → 0.90; ×8 better
   * too. So each scale uses the range that measured best: 0..255 at ×2, 0..1 otherwise.
   */
  readonly range: Readonly<Record<Scale, 255 | 1>>;
  /**
   * Input pixels of context each tile gets on every side, so that the kept part matches an
   * untiled run. Measured on a photograph with 24-pixel tiles: at this context the tiled and
   * untiled outputs differ by at most one 8-bit level (slim and medium: identical from 12;
   * thick: from 8 at ×4, ≤ 1 level from 12 at ×2); with no context and no cross-fade they differ
   * by up to 100 levels along the seams.
   */
  readonly context: number;
}

const RDN_RANGE = { 2: 255, 3: 1, 4: 1, 8: 1 } as const;

/** The ranges the packages' own definitions declare (what the `upscaler` library feeds them). */
export const PACKAGE_RANGE: Readonly<Record<ModelName, 255 | 1>> = { slim: 255, medium: 255, thick: 1 };

export const MODEL_FAMILIES: Readonly<Record<ModelName, ModelFamily>> = {
  slim: { npmPackage: '@upscalerjs/esrgan-slim', scales: [2, 3, 4, 8], range: RDN_RANGE, context: 12 },
  medium: { npmPackage: '@upscalerjs/esrgan-medium', scales: [2, 3, 4, 8], range: RDN_RANGE, context: 16 },
  thick: { npmPackage: '@upscalerjs/esrgan-thick', scales: [2, 3, 4, 8], range: { 2: 1, 3: 1, 4: 1, 8: 1 }, context: 16 },
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
