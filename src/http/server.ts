import { timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import multipart from '@fastify/multipart';
import formbody from '@fastify/formbody';
import sse from '@fastify/sse';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { MediaflowError } from '../core/errors.js';
import type { Runtime } from '../runtime.js';
import { registerCompatRoutes } from './compat/index.js';
import { sendCompatError } from './compat/compat-errors.js';
import { healthRoutes } from './health.routes.js';
import { createMetrics } from './metrics.js';
import { sendProblem } from './problem.js';
import { jobsRoutes } from './v1/jobs.routes.js';
import { eventsRoutes } from './v1/events.routes.js';
import { processorsRoutes } from './v1/processors.routes.js';
import { workersRoutes } from './v1/workers.routes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The web UI's files: `web/` at the package root (the same from src/ under tsx and from dist/). */
export const WEB_ROOT = path.resolve(here, '..', '..', 'web');

const PUBLIC_PREFIXES = ['/health', '/ready', '/metrics', '/docs', '/openapi.json'];

function keyMatches(given: string, keys: readonly string[]): boolean {
  const g = Buffer.from(given);
  return keys.some((k) => {
    const b = Buffer.from(k);
    return b.length === g.length && timingSafeEqual(b, g);
  });
}

/**
 * Builds the HTTP server: thin routes over the job service. /v1 answers errors as
 * application/problem+json; the seeds' compat routes answer in their own shapes.
 */
export async function buildServer(rt: Runtime): Promise<FastifyInstance> {
  const { config } = rt;
  const uploadBytes = Math.floor(config.uploadLimitMb * 1024 * 1024);
  const app = Fastify({
    logger: config.logLevel === 'silent' ? false : { level: config.logLevel },
    // JSON bodies carry base64 inputs: 4/3 of the upload limit plus the envelope.
    bodyLimit: Math.ceil(uploadBytes * 1.4) + 65536,
    ajv: { customOptions: { coerceTypes: 'array', removeAdditional: false } },
  });
  const metrics = createMetrics(rt);
  app.addHook('onClose', async () => metrics.close());

  await app.register(multipart, { limits: { fileSize: uploadBytes, files: 4, fields: 200, fieldSize: 1024 * 1024, parts: 400 } });
  await app.register(formbody);
  // The package's CJS export is the fastify-plugin-wrapped function; its typings describe `.default`.
  await app.register(sse as unknown as FastifyPluginAsync<{ heartbeatInterval: number }>, { heartbeatInterval: 15_000 });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Mediaflow',
        version: '0.1.0',
        description: 'Media machine-learning jobs: submit a file or URL to a processor, follow its progress, fetch its outputs. '
          + 'The `/v1` API is for new clients; the compat routes keep the five original services answering their existing clients.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' }, apiKey: { type: 'apiKey', in: 'header', name: 'X-Api-Key' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.addHook('onRequest', async (request) => {
    (request as unknown as { startedAt: bigint }).startedAt = process.hrtime.bigint();
    if (config.apiKeys.length === 0 || !request.url.startsWith('/v1')) return;
    const auth = request.headers.authorization;
    const given = (typeof auth === 'string' && auth.startsWith('Bearer ') ? auth.slice(7) : undefined) ?? (request.headers['x-api-key'] as string | undefined);
    if (!given || !keyMatches(given, config.apiKeys)) throw new MediaflowError('UNAUTHORIZED');
  });
  app.addHook('onResponse', async (request, reply) => {
    const started = (request as unknown as { startedAt?: bigint }).startedAt;
    if (!started) return;
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.http.observe({ method: request.method, route, status: String(reply.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
  });

  app.setErrorHandler((err, request, reply) => {
    if (request.url.startsWith('/v1') || PUBLIC_PREFIXES.some((p) => request.url.startsWith(p))) return sendProblem(reply, request, err);
    return sendCompatError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new MediaflowError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
    if (request.url.startsWith('/v1')) return sendProblem(reply, request, err);
    return reply.status(404).send({ error: err.message, code: err.code });
  });

  await jobsRoutes(app, { jobs: rt.jobs, blobs: rt.blobs, events: rt.events });
  await eventsRoutes(app, { events: rt.events, store: rt.store });
  await processorsRoutes(app, rt.jobs);
  await workersRoutes(app, rt);
  await healthRoutes(app, rt, metrics);
  await registerCompatRoutes(app, rt);

  if (existsSync(WEB_ROOT)) {
    await app.register(fastifyStatic, { root: WEB_ROOT, prefix: '/', index: ['index.html'], wildcard: false, cacheControl: true, maxAge: 0 });
  }
  return app;
}

/** `--compat-ports`: the seeds' own ports answer too, with the same routes. */
export const COMPAT_PORTS = [5000, 8000, 11470];

export async function listenCompatPorts(app: FastifyInstance, host: string, mainPort: number): Promise<http.Server[]> {
  await app.ready();
  const servers: http.Server[] = [];
  for (const port of COMPAT_PORTS) {
    if (port === mainPort) continue;
    const server = http.createServer((req, res) => app.routing(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    servers.push(server);
  }
  return servers;
}
