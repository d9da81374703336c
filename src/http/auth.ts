import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AppConfig, CompatSeed } from '../config/config.schema.js';
import { MediaflowError } from '../core/errors.js';

/**
 * Who may call a route when API keys are set, declared on the route (`config: { auth }`):
 * - `key` (the default, also for unmatched URLs): a valid key;
 * - `public`: anyone (health, readiness, the API documentation, the web UI's files);
 * - `metrics`: anyone when `metrics.public` is set, else a key;
 * - `compat:<seed>`: anyone when the seed is listed in `auth.openCompat`, else a key;
 * - `compat:tasks` (`/tasks/<id>`): anyone when seed 001 or 004 is open — and then such callers
 *   see only those seeds' jobs (the route checks `request.apiKeyOk`).
 * The decision is taken on the route the router matched, never on the URL text: `/%761/jobs` is
 * `/v1/jobs` to the router, so it is to this check too.
 */
export type RouteAuth = 'key' | 'public' | 'metrics' | `compat:${CompatSeed}` | 'compat:tasks';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: RouteAuth;
  }
  interface FastifyRequest {
    /** A valid API key came with the request. */
    apiKeyOk: boolean;
  }
}

/** The seeds whose jobs `/tasks/<id>` showed. */
const TASK_SEEDS: readonly CompatSeed[] = ['seed001', 'seed004'];

function keyMatches(given: string, keys: readonly string[]): boolean {
  const g = Buffer.from(given);
  return keys.some((k) => {
    const b = Buffer.from(k);
    return b.length === g.length && timingSafeEqual(b, g);
  });
}

function keyOf(request: FastifyRequest): string | undefined {
  const auth = request.headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) return auth.slice(7).trim();
  const k = request.headers['x-api-key'];
  return typeof k === 'string' ? k : undefined;
}

export function routeAuth(request: FastifyRequest): RouteAuth {
  return request.routeOptions.config?.auth ?? 'key';
}

/** Whether callers without a key may use a route of this kind. */
export function openWithoutKey(auth: RouteAuth, config: AppConfig): boolean {
  if (config.apiKeys.length === 0 || auth === 'public') return true;
  if (auth === 'metrics') return config.metrics.public;
  if (auth === 'compat:tasks') return TASK_SEEDS.some((s) => config.auth.openCompat.includes(s));
  if (auth.startsWith('compat:')) return config.auth.openCompat.includes(auth.slice(7) as CompatSeed);
  return false;
}

/** The job sources a caller may see through `/tasks/<id>`; null: all of them. */
export function visibleTaskSources(request: FastifyRequest, config: AppConfig): string[] | null {
  if (config.apiKeys.length === 0 || request.apiKeyOk) return null;
  return TASK_SEEDS.filter((s) => config.auth.openCompat.includes(s)).map((s) => `compat:${s}`);
}

export function installAuth(app: FastifyInstance, config: AppConfig) {
  app.decorateRequest('apiKeyOk', false);
  app.addHook('onRequest', async (request) => {
    if (config.apiKeys.length === 0) return;
    const given = keyOf(request);
    if (given && keyMatches(given, config.apiKeys)) {
      request.apiKeyOk = true;
      return;
    }
    if (!openWithoutKey(routeAuth(request), config)) throw new MediaflowError('UNAUTHORIZED');
  });
}

/** Marks every route registered in `app` (an encapsulated context) and its children public. */
export function allPublic(app: FastifyInstance) {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, auth: route.config?.auth ?? 'public' };
  });
}
