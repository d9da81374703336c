import { createHash } from 'node:crypto';
import { Ajv, type ValidateFunction } from 'ajv';
import type { ProcessorDefinition } from './processor.types.js';
import { InputError } from './errors.js';
import { MAX_JSON_DEPTH, valueTooDeep } from '../util/json-depth.js';

// Form fields arrive as strings, so types are coerced ("4" → 4); defaults are filled in so the
// stored params (and the dedup key) are complete and canonical.
const ajv = new Ajv({ allErrors: true, coerceTypes: true, useDefaults: true, strict: false });
const cache = new WeakMap<object, ValidateFunction>();

/** Params are a handful of settings: anything this large or deep is a mistake or an attack. */
export const MAX_PARAMS_BYTES = 64 * 1024;
export const MAX_PARAMS_DEPTH = 16;

/** A JSON copy of the params, refusing values too deep or too large to be settings (and so to recurse over). */
function copyParams(raw: unknown): unknown {
  if (valueTooDeep(raw, Math.min(MAX_PARAMS_DEPTH, MAX_JSON_DEPTH))) throw new InputError('PARAMS_INVALID', `params nest deeper than ${MAX_PARAMS_DEPTH} levels`);
  const text = JSON.stringify(raw ?? {});
  if (text === undefined) throw new InputError('PARAMS_INVALID', 'params must be a JSON object');
  if (Buffer.byteLength(text) > MAX_PARAMS_BYTES) throw new InputError('PARAMS_INVALID', `params are larger than ${MAX_PARAMS_BYTES / 1024} KiB`);
  return JSON.parse(text);
}

/** Validates and completes a processor's params; throws PARAMS_INVALID listing every problem. */
export function validateParams(processor: ProcessorDefinition<any, any>, raw: unknown): Record<string, unknown> {
  let validate = cache.get(processor.params);
  if (!validate) {
    validate = ajv.compile(processor.params);
    cache.set(processor.params, validate);
  }
  const params = copyParams(raw) as Record<string, unknown>;
  if (!params || typeof params !== 'object' || Array.isArray(params)) throw new InputError('PARAMS_INVALID', 'params must be a JSON object');
  if (!validate(params)) {
    const problems = (validate.errors ?? []).map((e) => {
      const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'params';
      const extra = e.params && 'additionalProperty' in e.params ? `: ${String(e.params.additionalProperty)}` : '';
      const allowed = e.params && 'allowedValues' in e.params ? ` (${(e.params.allowedValues as unknown[]).join(', ')})` : '';
      return `${where} ${e.message}${extra}${allowed}`;
    });
    throw new InputError('PARAMS_INVALID', `Invalid params for ${processor.name}: ${problems.join('; ')}`, { details: { problems } });
  }
  return params;
}

/** JSON with object keys sorted at every level: equal params give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The dedup key of DESIGN.md: processor + version + canonical params + input content hash. */
export function dedupKey(processor: string, version: string, params: Record<string, unknown>, inputId: string): string {
  return createHash('sha256').update(`${processor}\n${version}\n${canonicalJson(params)}\n${inputId}`).digest('hex');
}
