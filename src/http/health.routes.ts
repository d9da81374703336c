import type { FastifyInstance } from 'fastify';
import type { Runtime } from '../runtime.js';
import type { createMetrics } from './metrics.js';

type Check = { ok: boolean; detail?: string };
const CHECK_TTL_MS = 30_000;

/** /health (alive), /ready (store, queue, blobs, disk, every processor's models and tools), /metrics. */
export async function healthRoutes(app: FastifyInstance, rt: Runtime, metrics: ReturnType<typeof createMetrics>) {
  let cached: { at: number; checks: Record<string, Check> } | null = null;

  async function processorChecks(): Promise<Record<string, Check>> {
    if (cached && Date.now() - cached.at < CHECK_TTL_MS) return cached.checks;
    const checks: Record<string, Check> = {};
    await Promise.all(rt.jobs.processors().map(async (p) => {
      if (!p.check) return;
      try {
        checks[`processor:${p.name}`] = await p.check(rt.config);
      } catch (err) {
        checks[`processor:${p.name}`] = { ok: false, detail: String((err as Error).message ?? err) };
      }
    }));
    cached = { at: Date.now(), checks };
    return checks;
  }

  app.get('/health', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Liveness' } }, async () => ({ status: 'ok' }));

  app.get('/ready', { config: { auth: 'public' }, schema: { tags: ['health'], summary: 'Readiness: store, queue, blob store, disk space, models and tools' } }, async (_req, reply) => {
    const checks: Record<string, Check> = {};
    const probe = async (name: string, fn: () => Promise<string | void>) => {
      try {
        const detail = await fn();
        checks[name] = detail ? { ok: true, detail } : { ok: true };
      } catch (err) {
        checks[name] = { ok: false, detail: String((err as Error).message ?? err) };
      }
    };
    await probe('store', () => rt.store.ping());
    await probe('queue', () => rt.queue.ping());
    await probe('blobs', () => rt.blobs.ping());
    // Each backing service by name (embedded: sqlite; distributed: postgres, redis, s3).
    for (const [name, ping] of Object.entries(rt.services)) await probe(name, ping);
    await probe('disk', async () => {
      const free = await rt.blobs.freeBytes();
      if (free === null) return 'object storage';
      if (free < 100 * 1024 * 1024) throw new Error(`only ${Math.round(free / 1048576)} MiB free`);
      return `${Math.round(free / 1073741824)} GiB free`;
    });
    Object.assign(checks, await processorChecks());
    // A missing optional tool (say yt-dlp) degrades one processor, not the server: core checks decide.
    const coreOk = ['store', 'queue', 'blobs', 'disk', ...Object.keys(rt.services)].every((k) => checks[k]?.ok);
    const allOk = Object.values(checks).every((c) => c.ok);
    return reply.status(coreOk ? 200 : 503).send({ status: allOk ? 'ready' : coreOk ? 'degraded' : 'unavailable', checks });
  });

  app.get('/metrics', { config: { auth: 'metrics' }, schema: { tags: ['health'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });
}
