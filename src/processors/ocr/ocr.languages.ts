import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError, MediaflowError } from '../../core/errors.js';

/**
 * OCR language data comes from the `@tesseract.js-data/<code>` npm packages, read straight from
 * node_modules: nothing is downloaded at run time and nothing is cached in the working directory.
 * Install another language with `npm install @tesseract.js-data/<code>`.
 *
 * `config.models.paths["tesseract-<code>"]` points a language at another `.traineddata` file
 * (gzipped or not) instead, for example a distribution's `tessdata_fast` models, which are smaller
 * and faster than the packages' `best_int` ones (bench/RESULTS.md compares them), or a language
 * that has no package.
 */

const require = createRequire(import.meta.url);
const SCOPE = '@tesseract.js-data';

/**
 * Folders inside a data package, best first. `4.0.0_best_int` holds the LSTM-only model (what the
 * engine runs: OEM 1), about a quarter of the size of `4.0.0`, which also carries the legacy engine's
 * data (same LSTM network, so the same results, but a slower load).
 */
const DATA_FOLDERS = ['4.0.0_best_int', '4.0.0'] as const;

/** Tesseract language codes: `eng`, `chi_sim`, `deu_latf`. Strict, because a code becomes a path. */
const CODE_RE = /^[a-z][a-z0-9]{1,7}(?:_[a-z0-9]{1,8}){0,3}$/;

/** Most languages one job may combine (each one slows recognition down and costs memory). */
export const MAX_LANGUAGES = 8;

export interface ResolvedLanguages {
  /** Canonical `eng+fra` form: codes in the order given, duplicates removed. */
  key: string;
  codes: string[];
  /** Code → absolute path of its `.traineddata` (gzipped in the packages, either in an override). */
  files: Record<string, string>;
}

type ModelsConfig = Pick<AppConfig, 'models'>;

/** The `models.paths` key that overrides a language's data file. */
export function languageModelId(code: string): string {
  return `tesseract-${code}`;
}

function overrideFile(code: string, config: ModelsConfig | undefined): string | undefined {
  const p = config?.models.paths[languageModelId(code)];
  if (!p) return undefined;
  const file = path.resolve(p);
  // An explicit choice that is missing is a configuration fault, never a silent fall-back.
  if (!existsSync(file)) {
    throw new MediaflowError('MODEL_MISSING', `OCR language ${code}: the file set in models.paths["${languageModelId(code)}"] (${file}) does not exist`);
  }
  return file;
}

function packageDir(code: string): string | undefined {
  try {
    return path.dirname(require.resolve(`${SCOPE}/${code}/package.json`));
  } catch {
    return undefined;
  }
}

function traineddataFile(code: string): string | undefined {
  const dir = packageDir(code);
  if (!dir) return undefined;
  for (const folder of DATA_FOLDERS) {
    const file = path.join(dir, folder, `${code}.traineddata.gz`);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** The language codes whose data is installed or configured (for error messages and /ready). */
export function availableLanguages(config?: ModelsConfig): string[] {
  const configured = Object.keys(config?.models.paths ?? {})
    .filter((id) => id.startsWith('tesseract-'))
    .map((id) => id.slice('tesseract-'.length))
    .filter((c) => CODE_RE.test(c));
  return [...new Set([...installedPackages(), ...configured])].sort();
}

function installedPackages(): string[] {
  const eng = packageDir('eng');
  // Every data package sits in the same scope folder; `eng` is a dependency, so it anchors it.
  const scopeDir = eng ? path.dirname(eng) : undefined;
  if (!scopeDir) return [];
  let names: string[] = [];
  try {
    names = readdirSync(scopeDir);
  } catch {
    return [];
  }
  return names.filter((n) => CODE_RE.test(n) && traineddataFile(n) !== undefined);
}

/**
 * Parses `eng`, `eng+fra` into the data files to load: a `models.paths` override first, then the
 * language's package. Throws `OCR_LANG_UNAVAILABLE` (400) naming the missing package when a
 * language is not installed, `PARAMS_INVALID` for malformed codes, and `MODEL_MISSING` (503) when
 * an override points at nothing.
 */
export function resolveLanguages(lang: string, config?: ModelsConfig): ResolvedLanguages {
  const codes = [...new Set(lang.trim().split('+').map((c) => c.trim()))];
  const bad = codes.filter((c) => !CODE_RE.test(c));
  if (bad.length > 0 || codes.length === 0) {
    throw new InputError('PARAMS_INVALID', `lang must be language codes joined by "+", like "eng" or "eng+fra"; got ${JSON.stringify(lang)}`);
  }
  if (codes.length > MAX_LANGUAGES) {
    throw new InputError('PARAMS_INVALID', `lang combines ${codes.length} languages; at most ${MAX_LANGUAGES} are allowed`);
  }
  const files: Record<string, string> = {};
  const missing: string[] = [];
  for (const code of codes) {
    const file = overrideFile(code, config) ?? traineddataFile(code);
    if (file) files[code] = file;
    else missing.push(code);
  }
  if (missing.length > 0) {
    const installed = availableLanguages(config);
    throw new InputError(
      'OCR_LANG_UNAVAILABLE',
      `OCR language data not installed: ${missing.join(', ')} (install ${missing.map((c) => `${SCOPE}/${c}`).join(', ')}); installed: ${installed.join(', ') || 'none'}`,
      { details: { missing, installed } },
    );
  }
  return { key: codes.join('+'), codes, files };
}
