import { existsSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyRequest } from 'fastify';
import multipart from '@fastify/multipart';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import formbody from '@fastify/formbody';
import sse from '@fastify/sse';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import fastifyStatic from '@fastify/static';
import { InputError, MediaflowError } from '../core/errors.js';
import { MAX_JSON_DEPTH, jsonTextTooDeep } from '../util/json-depth.js';
import type { Runtime } from '../runtime.js';
import { allPublic, installAuth, type RouteAuth } from './auth.js';
import { registerCompatRoutes } from './compat/index.js';
import { sendCompatError } from './compat/compat-errors.js';
import { healthRoutes } from './health.routes.js';
import { createMetrics } from './metrics.js';
import { createLogger } from '../logging/logger.js';
import { sendProblem } from './problem.js';
import { jobsRoutes } from './v1/jobs.routes.js';
import { eventsRoutes } from './v1/events.routes.js';
import { processorsRoutes } from './v1/processors.routes.js';
import { workersRoutes } from './v1/workers.routes.js';
import { chainsRoutes } from './v1/chains.routes.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** The web UI's files: `web/` at the package root (the same from src/ under tsx and from dist/). */
export const WEB_ROOT = path.resolve(here, '..', '..', 'web');

/** How long the rest of an unread request body is discarded after the answer, before the socket is closed. */
const UNREAD_BODY_LINGER_MS = 2_000;

/** Routes (other than /v1) that answer errors as problem+json rather than in a seed's shape. */
const PROBLEM_PREFIXES = ['/v1', '/health', '/ready', '/metrics', '/docs', '/openapi.json'];

/** The path the router sees: the matched route's pattern, or the decoded URL path when none matched. */
function routePath(request: FastifyRequest): string {
  if (request.routeOptions.url) return request.routeOptions.url;
  const raw = request.url.split('?')[0]!;
  try { return decodeURIComponent(raw); } catch { return raw; }
}

const answersProblems = (request: FastifyRequest) => PROBLEM_PREFIXES.some((p) => routePath(request).startsWith(p));

/**
 * Builds the HTTP server: thin routes over the job service. /v1 answers errors as
 * application/problem+json; the seeds' compat routes answer in their own shapes.
 */
export async function buildServer(rt: Runtime): Promise<FastifyInstance> {
  const { config } = rt;
  const uploadBytes = Math.floor(config.uploadLimitMb * 1024 * 1024);
  const app = Fastify({
    ...(config.logLevel === 'silent' ? { logger: false } : { loggerInstance: createLogger(config.logLevel) as FastifyBaseLogger }),
    // JSON bodies carry base64 inputs: 4/3 of the upload limit plus the envelope.
    bodyLimit: Math.ceil(uploadBytes * 1.4) + 65536,
  });
  // Query strings, params and headers are text: their values are coerced ("50" → 50). A JSON body
  // has types of its own: `"priority": "x"` or `true` is an error there, never converted.
  const coercing = addFormats.default(new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, strict: false }));
  const exact = addFormats.default(new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: false, strict: false }));
  app.setValidatorCompiler(({ schema, httpPart, contentType }) => (httpPart === 'body' && contentType === 'application/json' ? exact : coercing).compile(schema));
  const metrics = createMetrics(rt);
  // JSON nested deeper than any request needs is refused while parsing (400), before recursive code sees it.
  const defaultJson = app.getDefaultJsonParser('error', 'ignore');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (jsonTextTooDeep(body as string)) return done(new InputError('INVALID_REQUEST', `The JSON body nests deeper than ${MAX_JSON_DEPTH} levels`), undefined);
    return defaultJson(request, body as string, done);
  });
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
    // Every route but the public ones takes a key when keys are configured (src/http/auth.ts): the
    // document says so per operation, so generated clients send one.
    transform: ({ schema, url, route }) => {
      const auth = (route.config as { auth?: RouteAuth } | undefined)?.auth ?? 'key';
      if (!schema || auth === 'public') return { schema, url };
      return { schema: { ...schema, security: [{ bearer: [] }, { apiKey: [] }] }, url };
    },
  });
  app.addHook('onRequest', async (request) => {
    (request as unknown as { startedAt: bigint }).startedAt = process.hrtime.bigint();
  });
  installAuth(app, config);
  // The API documentation is public (it describes, it shows no job).
  await app.register(async (docs) => {
    allPublic(docs);
    await docs.register(swaggerUi, { routePrefix: '/docs' });
    docs.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  });
  // An answer given before the body was read (a 401, a 413, a 507 mid-upload) ends the connection:
  // the client is told so, the rest of its body is discarded for a moment while the answer reaches
  // it, then the socket goes. Kept open, it would wait for bytes nobody reads and hold up a shutdown.
  app.addHook('onSend', async (request, reply) => {
    if (!request.raw.complete) reply.header('connection', 'close');
  });
  app.addHook('onResponse', async (request) => {
    if (request.raw.complete) return;
    const socket = request.raw.socket;
    request.raw.resume();
    socket.end();
    setTimeout(() => socket.destroy(), UNREAD_BODY_LINGER_MS).unref();
  });
  app.addHook('onResponse', async (request, reply) => {
    const started = (request as unknown as { startedAt?: bigint }).startedAt;
    if (!started) return;
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.http.observe({ method: request.method, route, status: String(reply.statusCode) }, Number(process.hrtime.bigint() - started) / 1e9);
  });

  app.setErrorHandler((err, request, reply) => {
    if (answersProblems(request)) return sendProblem(reply, request, err);
    return sendCompatError(reply, err);
  });
  app.setNotFoundHandler((request, reply) => {
    const err = new MediaflowError('NOT_FOUND', `No route ${request.method} ${request.url.split('?')[0]}`);
    if (answersProblems(request)) return sendProblem(reply, request, err);
    return reply.status(404).send({ error: err.message, code: err.code });
  });

  await jobsRoutes(app, { jobs: rt.jobs, blobs: rt.blobs, events: rt.events });
  await eventsRoutes(app, { events: rt.events, store: rt.store });
  await processorsRoutes(app, rt.jobs);
  await workersRoutes(app, rt);
  await chainsRoutes(app, { jobs: rt.jobs, events: rt.events });
  await healthRoutes(app, rt, metrics);
  await registerCompatRoutes(app, rt);

  if (existsSync(WEB_ROOT)) {
    // The web UI's files are public; the page asks for a key when the API answers 401.
    await app.register(async (web) => {
      allPublic(web);
      await web.register(fastifyStatic, { root: WEB_ROOT, prefix: '/', index: ['index.html'], wildcard: false, cacheControl: true, maxAge: 0 });
    });
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
