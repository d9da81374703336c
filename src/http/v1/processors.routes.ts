import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppConfig } from '../../config/config.schema.js';
import type { JobService } from '../../core/jobs.service.js';
import type { ProcessorDefinition } from '../../core/processor.types.js';
import { concurrencyLimits } from '../../worker/job-worker.js';

export async function processorView(p: ProcessorDefinition<any, any>, concurrency: number, config: AppConfig) {
  return {
    name: p.name,
    version: p.version,
    title: p.title,
    description: p.description,
    input: p.input,
    params: p.params,
    policy: { ...p.policy, concurrency },
    notes: p.notes ?? null,
    details: p.details ? await p.details(config) : null,
  };
}

export async function processorsRoutes(app: FastifyInstance, jobs: JobService) {
  app.get('/v1/processors', {
    schema: { tags: ['processors'], summary: 'The processors, each with its params JSON Schema, input kind and policy' },
  }, async () => {
    const list = jobs.processors();
    const limits = concurrencyLimits(jobs.config, list);
    return { items: await Promise.all(list.map((p) => processorView(p, limits[p.name]!, jobs.config))) };
  });

  app.get('/v1/processors/:name', {
    schema: { tags: ['processors'], summary: 'One processor', params: Type.Object({ name: Type.String() }) },
  }, async (request) => {
    const p = jobs.processor((request.params as { name: string }).name);
    return processorView(p, concurrencyLimits(jobs.config, [p])[p.name]!, jobs.config);
  });
}
