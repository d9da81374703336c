/**
 * The names the configuration knows, derived from its schema (never listed by hand, so a key added
 * to the schema is known everywhere at once), and the check that refuses unknown ones: a typo such
 * as `MEDIAFLOW_API_KEY` for `MEDIAFLOW_API_KEYS` must stop the start, not start an open server.
 */

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
  patternProperties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
}

/** Environment variables that steer how the configuration is read rather than being part of it. */
export const CONTROL_ENV = ['MEDIAFLOW_CONFIG', 'MEDIAFLOW_CONFIG_JSON', 'MEDIAFLOW_NO_CONFIG_FILE', 'MEDIAFLOW_CHROMIUM'] as const;

export interface ConfigKey {
  /** e.g. ['workers', 'leaseMs'] */
  path: string[];
  /** e.g. MEDIAFLOW_WORKERS_LEASE_MS */
  env: string;
  boolean: boolean;
}

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
/** How environment names are compared: case and underscores do not matter. */
export const normEnv = (s: string) => s.toLowerCase().replace(/_/g, '');

/** Every key of the schema at every depth (objects with fixed properties; records are one key). */
export function configKeys(root: object, prefix: string[] = []): ConfigKey[] {
  const schema = root as SchemaNode;
  const out: ConfigKey[] = [];
  for (const [name, sub] of Object.entries(schema.properties ?? {})) {
    const path = [...prefix, name];
    out.push({ path, env: `MEDIAFLOW_${path.map(snake).join('_')}`, boolean: sub.type === 'boolean' });
    if (sub.properties) out.push(...configKeys(sub, path));
  }
  return out;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

export function closest(name: string, candidates: readonly string[], norm: (s: string) => string = (s) => s.toLowerCase()): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = distance(norm(name), norm(c));
    if (d < bestD) { best = c; bestD = d; }
  }
  return best;
}

const didYouMean = (s: string | undefined) => (s ? `; did you mean ${s}?` : '');

/** `MEDIAFLOW_*` names in `env` that are neither a configuration key nor a control variable. */
export function unknownEnvNames(schema: object, env: NodeJS.ProcessEnv): string[] {
  const known = [...configKeys(schema).map((k) => k.env), ...CONTROL_ENV];
  const knownNorm = new Set(known.map(normEnv));
  return Object.keys(env)
    .filter((k) => k.startsWith('MEDIAFLOW_') && env[k] !== undefined && !knownNorm.has(normEnv(k)))
    .sort()
    .map((k) => `${k}: unknown${didYouMean(closest(k, known, normEnv))}`);
}

/**
 * Keys of `value` the schema does not describe, at any depth, each with the closest valid name at
 * its place. Inside a record (`concurrency`, `segment.models`) any name is valid, but the values'
 * own keys are checked.
 */
export function unknownKeys(root: object, value: unknown, path: string[] = []): string[] {
  const schema = root as SchemaNode;
  if (Array.isArray(value)) return schema.items ? value.flatMap((v, i) => unknownKeys(schema.items!, v, [...path, String(i)])) : [];
  if (!value || typeof value !== 'object') return [];
  const problems: string[] = [];
  const props = schema.properties ?? {};
  const patterns = Object.values(schema.patternProperties ?? {});
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties : undefined;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = props[key] ?? patterns[0] ?? extra;
    if (sub) {
      problems.push(...unknownKeys(sub, v, [...path, key]));
    } else if (schema.properties && schema.additionalProperties !== true) {
      const near = closest(key, Object.keys(props));
      problems.push(`${[...path, key].join('.')}: unknown${didYouMean(near && [...path, near].join('.'))}`);
    }
  }
  return problems;
}
