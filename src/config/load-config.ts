import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv } from 'ajv';
import { ConfigSchema, type AppConfig } from './config.schema.js';
import { modeProblems } from './mode-requirements.js';
import { configKeys, normEnv, unknownEnvNames, unknownKeys } from './config-names.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  /** Values from CLI flags (already nested, e.g. `{ port: 9000, workers: { enabled: false } }`). */
  flags?: Record<string, unknown>;
  /** Environment; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** Explicit config file path. */
  file?: string;
}

const ajv = new Ajv({ allErrors: true, useDefaults: true, coerceTypes: true, strict: false });
const validate = ajv.compile(ConfigSchema);

/**
 * Maps `MEDIAFLOW_WORKERS_PROCESSES=2` to `{ workers: { processes: "2" } }`, at any depth of the
 * schema. Names are matched case- and underscore-insensitively, so camelCase keys work as
 * `MEDIAFLOW_UPLOADLIMITMB` or `MEDIAFLOW_UPLOAD_LIMIT_MB`. Values stay strings; the schema coerces
 * them. JSON values (arrays, objects) are parsed. Unknown names are not mapped (loadConfig refuses them).
 */
export function configFromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  const keys = new Map(configKeys(ConfigSchema).map((k) => [normEnv(k.env), k]));
  for (const [name, raw] of Object.entries(env)) {
    const key = raw === undefined ? undefined : keys.get(normEnv(name));
    if (!key) continue;
    const value = parseEnvValue(raw!);
    const leaf = key.boolean ? parseBool(value) : value;
    let nested: unknown = leaf;
    for (const k of [...key.path].reverse()) nested = { [k]: nested };
    out = merge(out, nested as Record<string, unknown>);
  }
  return out;
}

/** Environment booleans as people write them: 1/0, yes/no, on/off, true/false. */
function parseBool(v: unknown): unknown {
  if (typeof v !== 'string') return v;
  if (/^(1|yes|on|true)$/i.test(v.trim())) return true;
  if (/^(0|no|off|false)$/i.test(v.trim())) return false;
  return v;
}

function parseEnvValue(raw: string): unknown {
  const t = raw.trim();
  if ((t.startsWith('[') && t.endsWith(']')) || (t.startsWith('{') && t.endsWith('}'))) {
    try { return JSON.parse(t); } catch { return raw; }
  }
  return raw;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out = { ...a };
  for (const [k, v] of Object.entries(b)) {
    if (v === undefined) continue;
    out[k] = isPlainObject(v) && isPlainObject(out[k]) ? merge(out[k] as Record<string, unknown>, v) : v;
  }
  return out;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Loads, validates (all errors at once) and freezes the configuration. Throws ConfigError. */
export function loadConfig(sources: ConfigSources = {}): AppConfig {
  const env = sources.env ?? process.env;
  if (env.MEDIAFLOW_CONFIG_JSON) {
    // A worker forked by `serve` gets the parent's exact, already merged configuration.
    return loadConfig({ env: {}, flags: JSON.parse(env.MEDIAFLOW_CONFIG_JSON) as Record<string, unknown>, file: undefined });
  }
  // Typos refuse the start: a misspelt key would otherwise be ignored without a word.
  const unknown = unknownEnvNames(ConfigSchema, env);
  const fromEnv = configFromEnv(env);
  const flags = sources.flags ?? {};
  const dataHint = (flags.data ?? fromEnv.data ?? './data') as string;
  const file = sources.file ?? env.MEDIAFLOW_CONFIG ?? path.join(dataHint, 'mediaflow.json');
  let fromFile: Record<string, unknown> = {};
  if (!env.MEDIAFLOW_NO_CONFIG_FILE && existsSync(file)) {
    try {
      fromFile = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    } catch (err) {
      throw new ConfigError([`${file}: ${(err as Error).message}`]);
    }
  } else if (sources.file) {
    throw new ConfigError([`config file ${sources.file} does not exist`]);
  }
  unknown.push(...unknownKeys(ConfigSchema, fromFile).map((p) => `${file}: ${p}`));
  if (unknown.length) throw new ConfigError(unknown);
  const merged = merge(merge(fromFile, fromEnv), flags);
  if (!validate(merged)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : '(root)';
      return `${where}: ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`;
    });
    throw new ConfigError(problems);
  }
  const config = merged as unknown as AppConfig;
  const modeIssues = modeProblems(config);
  if (modeIssues.length) throw new ConfigError(modeIssues);
  config.data = path.resolve(config.data);
  return deepFreeze(config);
}

/** Defaults only, with overrides: for tests and tools. */
export function defaultConfig(overrides: Record<string, unknown> = {}): AppConfig {
  return loadConfig({ env: {}, flags: overrides });
}
