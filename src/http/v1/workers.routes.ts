import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Runtime } from '../../runtime.js';

const Worker = Type.Object({
  id: Type.String(),
  node: Type.String({ description: 'Host name of the machine' }),
  pid: Type.Integer(),
  processors: Type.Array(Type.String()),
  running: Type.Array(Type.String(), { description: 'Ids of the jobs it runs now' }),
  startedAt: Type.String({ format: 'date-time' }),
  lastSeenAt: Type.String({ format: 'date-time' }),
});

/** Live workers (any node, any mode) and each processor's queue: what the web UI's Workers panel shows. */
export async function workersRoutes(app: FastifyInstance, rt: Runtime) {
  app.get('/v1/workers', {
    schema: {
      tags: ['workers'],
      summary: 'Live workers and the queue depth per processor',
      response: {
        200: Type.Object({
          workers: Type.Array(Worker),
          queues: Type.Record(Type.String(), Type.Object({ queued: Type.Integer(), running: Type.Integer() })),
        }),
      },
    },
  }, async () => {
    // A worker reports itself with every heartbeat; three missed heartbeats and it is gone.
    const within = Math.max(3 * rt.config.workers.heartbeatMs, 15_000);
    const [workers, depth, counts] = await Promise.all([rt.workers.list(within), rt.queue.depth(), rt.store.countByStatus()]);
    const queues: Record<string, { queued: number; running: number }> = {};
    for (const p of rt.processors) queues[p.name] = { queued: depth[p.name] ?? 0, running: 0 };
    for (const c of counts) if (c.status === 'running' && queues[c.processor]) queues[c.processor]!.running = c.count;
    return { workers, queues };
  });
}
