import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Job, JobStatus } from '../../core/job.types.js';
import type { JobService } from '../../core/jobs.service.js';
import { visibleTaskSources } from '../auth.js';

/** Celery's status words, which seeds 001 and 004 reported. */
const CELERY: Record<JobStatus, string> = { waiting: 'PENDING', queued: 'PENDING', running: 'STARTED', succeeded: 'SUCCESS', failed: 'FAILURE', canceled: 'REVOKED' };

export function celeryStatus(status: JobStatus): string {
  return CELERY[status];
}

/** The URL seed 001 gave for an upscaled file. */
export function processedUrl(job: Job): string | null {
  const name = typeof job.meta.name === 'string' ? job.meta.name : null;
  return name ? `/processed/${encodeURIComponent(name)}` : null;
}

function files(job: Job) {
  return job.outputs.map((o) => ({ name: o.name, size: o.size, mime: o.mime, url: `/v1/jobs/${job.id}/outputs/${encodeURIComponent(o.name)}` }));
}

/**
 * `GET /tasks/<task_id>`: one implementation for seed 001 (upscale tasks: `result: {url}`) and
 * seed 004 (download tasks: the produced files with names, sizes and URLs). Task ids are job ids,
 * unique across all jobs, so any job can be asked for here.
 */
export async function tasksRoutes(app: FastifyInstance, jobs: JobService) {
  app.get('/tasks/:task_id', {
    config: { auth: 'compat:tasks' },
    schema: {
      tags: ['compat: seeds 001 and 004 (tasks)'],
      summary: 'Task status in Celery words (PENDING, STARTED, SUCCESS, FAILURE, REVOKED)',
      params: Type.Object({ task_id: Type.String() }),
    },
  }, async (request, reply) => {
    const found = await jobs.find((request.params as { task_id: string }).task_id);
    // A caller without a key (on a server whose seed 001/004 routes are open) sees only those seeds' tasks.
    const sources = visibleTaskSources(request, jobs.config);
    const job = found && (!sources || sources.includes(String(found.meta.source))) ? found : null;
    if (!job) return reply.status(404).send({ error: 'task not found' });
    const status = celeryStatus(job.status);
    let result: unknown = null;
    if (job.status === 'succeeded') {
      const url = job.processor === 'upscale' ? processedUrl(job) ?? files(job)[0]?.url : undefined;
      result = url ? { url } : { files: files(job), ...(job.result && typeof job.result === 'object' ? { info: job.result } : {}) };
    } else if (job.status === 'failed' || job.status === 'canceled') {
      result = job.error?.message ?? 'failed';
    }
    return reply.send({
      task_id: job.id,
      status,
      result,
      progress: job.progress,
      ...(job.status === 'running' && job.outputs.length ? { files: files(job) } : {}),
      ...(job.status === 'succeeded' ? { files: files(job) } : {}),
      ...(job.error ? { error: job.error.message, code: job.error.code } : {}),
    });
  });
}
