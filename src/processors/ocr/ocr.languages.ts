import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError, MediaflowError } from '../../core/errors.js';

/**
 * Where OCR language data (`<code>.traineddata`) comes from, first match wins:
 *
 * 1. `config.models.paths["tesseract-<code>"]`: an explicit file (gzipped or not);
 * 2. a tessdata folder: `TESSDATA_PREFIX`, the folder the installed `tesseract` command reports
 *    (`tesseract --list-langs`), and the usual system folders (Debian's
 *    /usr/share/tesseract-ocr/5/tessdata, Homebrew's, /usr/local/share/tessdata). A distribution
 *    package (`apt-get install tesseract-ocr-rus tesseract-ocr-chi-sim`) adds a language here;
 *    these are the tessdata_fast models, which the `tesseract` command itself uses;
 * 3. the `@tesseract.js-data/<code>` npm packages (`eng` ships with Mediaflow, `fra` too): the
 *    zero-install fallback, read straight from node_modules.
 *
 * Nothing is downloaded at run time and nothing is cached in the working directory.
 */

const require = createRequire(import.meta.url);
const SCOPE = '@tesseract.js-data';

/**
 * Folders inside a data package, best first. `4.0.0_best_int` holds the LSTM-only model (what the
 * engine runs: OEM 1), about a quarter of the size of `4.0.0`, which also carries the legacy engine's
 * data (same LSTM network, so the same results, but a slower load).
 */
const DATA_FOLDERS = ['4.0.0_best_int', '4.0.0'] as const;

/** Where distributions put tessdata; the one the `tesseract` command reports is added to these. */
const SYSTEM_TESSDATA = [
  '/usr/share/tesseract-ocr/5/tessdata',
  '/usr/share/tesseract-ocr/4.00/tessdata',
  '/usr/share/tessdata',
  '/usr/local/share/tessdata',
  '/opt/homebrew/share/tessdata',
];

/** Tesseract language codes: `eng`, `chi_sim`, `deu_latf`. Strict, because a code becomes a path. */
const CODE_RE = /^[a-z][a-z0-9]{1,7}(?:_[a-z0-9]{1,8}){0,3}$/;

/** Data files that are no language: orientation detection and the equation model. */
const NOT_LANGUAGES = new Set(['osd', 'equ']);

/** Most languages one job may combine (each one slows recognition down and costs memory). */
export const MAX_LANGUAGES = 8;

export type LanguageSource = 'config' | 'tessdata' | 'package';

export interface ResolvedLanguages {
  /** Canonical `eng+fra` form: codes in the order given, duplicates removed. */
  key: string;
  codes: string[];
  /** Code → absolute path of its `.traineddata` (gzipped in the packages, plain in tessdata folders). */
  files: Record<string, string>;
}

type ModelsConfig = Pick<AppConfig, 'models'>;

/** The `models.paths` key that overrides a language's data file. */
export function languageModelId(code: string): string {
  return `tesseract-${code}`;
}

/**
 * The tessdata folders to search, in order: `TESSDATA_PREFIX` (as Tesseract reads it: the folder
 * itself, or its `tessdata` subfolder), `reported` (the installed command's own folder), then the
 * usual system folders. Only folders that exist.
 */
export function tessdataFolders(reported?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const prefix = env.TESSDATA_PREFIX ? [env.TESSDATA_PREFIX, path.join(env.TESSDATA_PREFIX, 'tessdata')] : [];
  const all = [...prefix, ...(reported ? [reported] : []), ...SYSTEM_TESSDATA].map((d) => path.resolve(d));
  return [...new Set(all)].filter((d) => {
    try {
      return statSync(d).isDirectory();
    } catch {
      return false;
    }
  });
}

/** The languages of one tessdata folder: code → file, for every `<code>.traineddata` in it. */
export function scanTessdata(dir: string): Record<string, string> {
  const found: Record<string, string> = {};
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names.sort()) {
    const code = name.endsWith('.traineddata') ? name.slice(0, -'.traineddata'.length) : undefined;
    if (code && CODE_RE.test(code) && !NOT_LANGUAGES.has(code)) found[code] = path.join(dir, name);
  }
  return found;
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

function packageFile(code: string): string | undefined {
  const dir = packageDir(code);
  if (!dir) return undefined;
  for (const folder of DATA_FOLDERS) {
    const file = path.join(dir, folder, `${code}.traineddata.gz`);
    if (existsSync(file)) return file;
  }
  return undefined;
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
  return names.filter((n) => CODE_RE.test(n) && packageFile(n) !== undefined);
}

function configuredCodes(config: ModelsConfig | undefined): string[] {
  return Object.keys(config?.models.paths ?? {})
    .filter((id) => id.startsWith('tesseract-'))
    .map((id) => id.slice('tesseract-'.length))
    .filter((c) => CODE_RE.test(c));
}

/** Where to look, beyond the configuration: the tessdata folders (see `tessdataFolders`). */
export interface LanguageSearch {
  folders?: string[];
}

/** Every language that can be read, with the file and where it came from, by code (sorted). */
export function languageTable(config?: ModelsConfig, search: LanguageSearch = {}): Record<string, { file: string; source: LanguageSource }> {
  const table: Record<string, { file: string; source: LanguageSource }> = {};
  for (const code of installedPackages()) table[code] = { file: packageFile(code)!, source: 'package' };
  // Later folders first, so that the earlier folder's file wins.
  for (const dir of [...(search.folders ?? tessdataFolders())].reverse()) {
    for (const [code, file] of Object.entries(scanTessdata(dir))) table[code] = { file, source: 'tessdata' };
  }
  for (const code of configuredCodes(config)) {
    const file = config!.models.paths[languageModelId(code)]!;
    table[code] = { file: path.resolve(file), source: 'config' };
  }
  return Object.fromEntries(Object.entries(table).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The language codes whose data is installed or configured (for /ready, /v1/processors and errors). */
export function availableLanguages(config?: ModelsConfig, search: LanguageSearch = {}): string[] {
  return Object.keys(languageTable(config, search));
}

/** `chi_sim` → `tesseract-ocr-chi-sim`, the Debian/Ubuntu package of that language. */
function distroPackage(code: string): string {
  return `tesseract-ocr-${code.replace(/_/g, '-')}`;
}

/**
 * Parses `eng`, `eng+fra` into the data files to load (see the order at the top of this file).
 * Throws `OCR_LANG_UNAVAILABLE` (400) naming the packages to install when a language is missing,
 * `PARAMS_INVALID` for malformed codes, and `MODEL_MISSING` (503) when an override points at nothing.
 */
export function resolveLanguages(lang: string, config?: ModelsConfig, search: LanguageSearch = {}): ResolvedLanguages {
  const codes = [...new Set(lang.trim().split('+').map((c) => c.trim()))];
  const bad = codes.filter((c) => !CODE_RE.test(c));
  if (bad.length > 0 || codes.length === 0) {
    throw new InputError('PARAMS_INVALID', `lang must be language codes joined by "+", like "eng" or "eng+fra"; got ${JSON.stringify(lang)}`);
  }
  if (codes.length > MAX_LANGUAGES) {
    throw new InputError('PARAMS_INVALID', `lang combines ${codes.length} languages; at most ${MAX_LANGUAGES} are allowed`);
  }
  const table = languageTable(config, search);
  const files: Record<string, string> = {};
  const missing: string[] = [];
  for (const code of codes) {
    const file = overrideFile(code, config) ?? table[code]?.file;
    if (file) files[code] = file;
    else missing.push(code);
  }
  if (missing.length > 0) {
    const installed = Object.keys(table);
    throw new InputError(
      'OCR_LANG_UNAVAILABLE',
      `OCR language data not installed: ${missing.join(', ')} (install ${missing.map((c) => `${distroPackage(c)} or ${SCOPE}/${c}`).join(', ')}); installed: ${installed.join(', ') || 'none'}`,
      { details: { missing, installed } },
    );
  }
  return { key: codes.join('+'), codes, files };
}
