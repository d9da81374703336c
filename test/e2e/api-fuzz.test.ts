import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, json, submit, type InProcessServer } from '../helpers/server.js';
import { rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * Fuzzes every operation of /openapi.json on a server with API keys: boundary and random values,
 * wrong types, broken bodies, encoded and doubled-slash paths, with and without a key. It must find
 * no 5xx, and no answer without a key except from the public routes.
 *
 * Deterministic by default (a fixed seed, a few seconds). Longer runs on demand:
 *   FUZZ_SEED=<n> FUZZ_RUNS=<requests per operation and key state> npm test -- test/e2e/api-fuzz.test.ts
 * (FUZZ_SEED=random picks one; the seed of a run is in the failure message, to replay it.)
 */
const SEED = process.env.FUZZ_SEED === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(process.env.FUZZ_SEED ?? 1);
const RUNS = Number(process.env.FUZZ_RUNS ?? 40);
const KEY = 'fuzz-key-0123456789';
/** Routes that answer without a key by design (src/http/auth.ts). */
const PUBLIC = new Set(['/health', '/ready']);
/** Per request: long enough for any 4xx, short enough not to wait for a job (the sync compat routes wait). */
const TIMEOUT_MS = 5_000;

type Rng = () => number;
/** mulberry32: small, seedable, good enough to pick cases. */
function rng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

interface Schema {
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  anyOf?: Schema[];
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
}

const deep = (n: number) => '['.repeat(n) + ']'.repeat(n);
const STRINGS = ['', 'a', ' ', 'ocr', 'sleep', 'noop', 'queued', 'queued,running', 'nope', '../../etc/passwd', '..', '%', '%00', '%ff', '\u0000', 'ü\u202e😀',
  '<script>alert(1)</script>', "' OR 1=1 --", 'x'.repeat(5000), 'http://127.0.0.1:9/x', 'http://169.254.169.254/latest', 'ftp://x/y', 'file:///etc/passwd',
  'data:image/png;base64,iVBORw0KGgo=', 'iVBORw0KGgo=', 'wait=1', 'null', 'true', '1e309', '-0', 'result'];
const WRONG: unknown[] = [null, true, false, 0, -1, 1.5, 1e309, 2 ** 53 + 1, 'x', '', [], [1, 'a'], {}, { a: { b: { c: [] } } }];

/** A value for a schema: mostly near its boundaries, sometimes of the wrong type. */
function value(r: Rng, s: Schema | undefined, depth = 0): unknown {
  if (!s || r() < 0.15 || depth > 4) return r() < 0.5 ? pick(r, WRONG) : pick(r, STRINGS);
  if (s.const !== undefined) return r() < 0.8 ? s.const : pick(r, STRINGS);
  if (s.enum) return r() < 0.8 ? pick(r, s.enum) : pick(r, STRINGS);
  if (s.anyOf) return value(r, pick(r, s.anyOf), depth);
  const type = Array.isArray(s.type) ? pick(r, s.type) : s.type;
  switch (type) {
    case 'integer':
    case 'number': {
      const lo = s.minimum ?? s.exclusiveMinimum ?? -1;
      const hi = s.maximum ?? 1e6;
      return pick(r, [lo, lo - 1, hi, hi + 1, 0, -1, 1, 0.5, -5.5, 1e9, -1e9, 2 ** 31, 2 ** 53, Math.floor(r() * (hi - lo)) + lo]);
    }
    case 'boolean': return pick(r, [true, false, 'true', 'yes', 1, 0]);
    case 'string': return pick(r, STRINGS);
    case 'array': return Array.from({ length: Math.floor(r() * 4) }, () => value(r, s.items, depth + 1));
    case 'object': {
      const o: Record<string, unknown> = {};
      for (const [k, sub] of Object.entries(s.properties ?? {})) if (r() < 0.7 || (s.required?.includes(k) && r() < 0.9)) o[k] = value(r, sub, depth + 1);
      if (r() < 0.15) o[pick(r, ['extra', '__proto__', 'constructor', 'params'])] = value(r, undefined, depth + 1);
      return o;
    }
    default: return value(r, undefined, depth + 1);
  }
}

/** Percent-encodes some characters of a literal path segment, doubles a slash, or changes case. */
function mangle(r: Rng, literalPath: string): string {
  const roll = r();
  if (roll < 0.55) return literalPath;
  if (roll < 0.8) return literalPath.replace(/[a-z0-9]/gi, (c) => (r() < 0.3 ? `%${c.charCodeAt(0).toString(16)}` : c));
  if (roll < 0.9) return literalPath.replace(/\//g, (m) => (r() < 0.3 ? '//' : m));
  return literalPath.replace(/[a-z]/g, (c) => (r() < 0.3 ? c.toUpperCase() : c));
}

interface Operation {
  method: string;
  path: string;
  params: Array<{ in: string; name: string; schema?: Schema }>;
  bodies: Record<string, Schema>;
}

function multipartBody(r: Rng, fields: Record<string, unknown>): { body: Buffer; type: string } {
  const boundary = `----fuzz${Math.floor(r() * 1e9)}`;
  const parts: Buffer[] = [];
  for (const [k, v] of Object.entries(fields)) {
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${typeof v === 'string' ? v : JSON.stringify(v)}\r\n`));
  }
  if (r() < 0.8) {
    const name = pick(r, ['a.png', 'song.wav', 'x.flac', 'doc.jpg', '', '../../x.png', 'ü.png', 'a"b.png', 'noext']);
    const bytes = pick(r, [Buffer.alloc(0), Buffer.from('RIFF????WAVEfmt '), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]), Buffer.from('%PDF-1.4'), Buffer.alloc(2048, 7)]);
    parts.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${pick(r, ['file', 'image', 'other'])}"; filename="${name}"\r\nContent-Type: application/octet-stream\r\n\r\n`), bytes, Buffer.from('\r\n'));
  }
  // Sometimes a truncated body: the closing boundary never comes.
  if (r() > 0.1) parts.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(parts), type: `multipart/form-data; boundary=${boundary}` };
}

/** One random request for an operation. */
function build(r: Rng, op: Operation, ids: string[]): { method: string; path: string; headers: Record<string, string>; body?: Buffer | string } {
  let path = mangle(r, op.path.replace(/\{[^}]+\}/g, '§'));
  path = path.replace(/§/g, () => encodeURIComponent(pick(r, [...ids, ...ids, randomUUID(), 'x', '..', 'a'.repeat(300), 'ü', "'; DROP TABLE jobs;--", 'hello.txt', 'vocals.wav'])).replace(/%25/g, r() < 0.2 ? '%' : '%25'));
  const query: string[] = [];
  const headers: Record<string, string> = {};
  for (const p of op.params) {
    if (p.in === 'query' && r() < 0.6) query.push(`${encodeURIComponent(p.name)}=${encodeURIComponent(String(value(r, p.schema)))}`);
    if (p.in === 'header' && r() < 0.4) headers[p.name] = String(value(r, p.schema)).replace(/[^\x20-\x7e]/g, '').slice(0, 200);
  }
  if (r() < 0.1) query.push(`${pick(r, ['url', 'playlist_url', 'x'])}=${encodeURIComponent(pick(r, STRINGS))}`);
  if (query.length) path += `?${query.join('&')}`;
  let method = op.method;
  if (method === 'GET' && r() < 0.15) method = 'HEAD';
  if (r() < 0.05) method = pick(r, ['OPTIONS', 'PUT', 'PATCH']);
  if (method !== 'POST') return { method, path, headers };
  const bodySchema = op.bodies['application/json'];
  const kind = pick(r, ['json', 'json', 'multipart', 'multipart', 'form', 'text', 'broken-json', 'deep-json', 'none']);
  const fields = (value(r, bodySchema ?? { type: 'object', properties: { processor: { type: 'string' }, url: { type: 'string' }, image: { type: 'string' }, params: { type: 'object' }, priority: { type: 'integer' }, webhook: { type: 'string' } } }) ?? {}) as Record<string, unknown>;
  switch (kind) {
    case 'json': return { method, path, headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(fields) };
    case 'multipart': {
      const m = multipartBody(r, typeof fields === 'object' && !Array.isArray(fields) ? fields : { v: fields });
      return { method, path, headers: { ...headers, 'content-type': m.type }, body: m.body };
    }
    case 'form': return { method, path, headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(Object.entries(typeof fields === 'object' && fields ? fields : {}).map(([k, v]): [string, string] => [k, String(v)])).toString() };
    case 'text': return { method, path, headers: { ...headers, 'content-type': 'text/plain' }, body: 'hello' };
    case 'broken-json': return { method, path, headers: { ...headers, 'content-type': 'application/json' }, body: pick(r, ['{', '{"processor":', '[1,', '"', '{"a":1}}', '\u0000']) };
    case 'deep-json': return { method, path, headers: { ...headers, 'content-type': 'application/json' }, body: `{"processor":"noop","params":${deep(5000)}}` };
    default: return { method, path, headers };
  }
}

describe('API fuzz from /openapi.json (keys set)', () => {
  let s: InProcessServer;
  let ops: Operation[] = [];
  const ids: string[] = [];
  before(async () => {
    s = await startServer({ apiKeys: [KEY] }, { worker: false });
    const spec = await json(await fetch(`${s.url}/openapi.json`));
    for (const [path, methods] of Object.entries(spec.paths as Record<string, Record<string, { parameters?: Operation['params']; requestBody?: { content: Record<string, { schema: Schema }> } }>>)) {
      for (const [method, op] of Object.entries(methods)) {
        const bodies = Object.fromEntries(Object.entries(op.requestBody?.content ?? {}).map(([t, c]) => [t, c.schema]));
        ops.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], bodies });
      }
    }
    // Jobs to find (and that must not be found without a key); requests with the key may cancel or
    // delete the first, the second is only ever named in requests without one.
    for (const u of ['http://93.184.216.34/a', 'http://93.184.216.34/b']) {
      ids.push((await json(await submit(s.url, { processor: 'noop', input: { url: u } }, { authorization: `Bearer ${KEY}` }))).id);
    }
  });
  after(async () => { await s.close(); });

  test(`every operation, with and without a key: no 5xx, nothing without a key (seed ${SEED}, ${RUNS} runs)`, async () => {
    assert.ok(ops.length >= 20, `the spec lists ${ops.length} operations`);
    const r = rng(SEED);
    const problems: string[] = [];
    let answered = 0;
    for (const op of ops) {
      for (let i = 0; i < RUNS * 2; i++) {
        const withKey = i % 2 === 0;
        const req = build(r, op, withKey ? ids.slice(0, 1) : ids);
        const headers: Record<string, string> = withKey ? { ...req.headers, [r() < 0.5 ? 'authorization' : 'x-api-key']: r() < 0.5 ? `Bearer ${KEY}` : KEY } : { ...req.headers, ...(r() < 0.3 ? { authorization: pick(r, ['Bearer wrong-key-000', 'Bearer ', `Basic ${KEY}`, KEY]) } : {}) };
        if (headers['x-api-key']?.startsWith('Bearer ')) headers['x-api-key'] = KEY;
        let res: RawResponse;
        try {
          res = await rawRequest(s.url, req.method, req.path, headers, req.body, { timeoutMs: TIMEOUT_MS, maxBodyBytes: 256 * 1024 });
        } catch (err) {
          problems.push(`${req.method} ${req.path} (${withKey ? 'key' : 'no key'}): connection error ${(err as Error).message}`);
          continue;
        }
        if (res.status === 0) { if (process.env.FUZZ_DEBUG) console.log('timeout', req.method, req.path, JSON.stringify(headers), String(req.body ?? '').slice(0, 200)); continue; } // still waiting for a job: a sync compat route doing its work
        answered++;
        const where = `${req.method} ${req.path.slice(0, 160)} (${withKey ? 'key' : 'no key'}) → ${res.status} ${res.body.slice(0, 200)}`;
        if (res.status >= 500 && !(op.path === '/ready' && res.status === 503)) problems.push(`5xx: ${where}`);
        if (!withKey && !PUBLIC.has(op.path)) {
          if (res.status < 400) problems.push(`answered without a key: ${where}`);
          if (ids.some((id) => res.body.includes(id) && !req.path.includes(id))) problems.push(`showed a job without a key: ${where}`);
        }
      }
    }
    assert.ok(answered > ops.length * RUNS, `only ${answered} answers`);
    assert.deepEqual(problems, [], `seed ${SEED}: replay with FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS}`);
    // No request without a key changed the job only they named.
    const job = await json(await fetch(`${s.url}/v1/jobs/${ids[1]}`, { headers: { authorization: `Bearer ${KEY}` } }));
    assert.equal(job.status, 'queued');
    assert.equal(job.cancelRequested, false);
  });
});
