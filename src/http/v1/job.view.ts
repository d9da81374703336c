import type { Job } from '../../core/job.types.js';

/** The public JSON of a job: what /v1 returns, with URLs for outputs and events. */
export function jobView(job: Job) {
  const base = `/v1/jobs/${job.id}`;
  return {
    id: job.id,
    processor: job.processor,
    processorVersion: job.processorVersion,
    status: job.status,
    progress: job.progress,
    stage: job.stage,
    attempts: job.attempts,
    maxAttempts: job.maxAttempts,
    priority: job.priority,
    params: job.params,
    input: inputView(job, base),
    upstream: job.upstream ? { ...job.upstream, url: `/v1/jobs/${job.upstream.job}` } : null,
    error: job.error,
    result: job.result,
    outputs: job.outputs.map((o) => ({ ...o, url: `${base}/outputs/${encodeURIComponent(o.name)}` })),
    cancelRequested: job.cancelRequested,
    meta: job.meta,
    createdAt: job.createdAt,
    startedAt: job.startedAt,
    finishedAt: job.finishedAt,
    updatedAt: job.updatedAt,
    links: { self: base, events: `${base}/events`, cancel: `${base}/cancel`, retry: `${base}/retry` },
  };
}

function inputView(job: Job, base: string) {
  const input = job.input;
  if (input.kind === 'file') return { kind: 'file', name: input.name, mime: input.mime, size: input.size, sha256: input.sha256, url: `${base}/input` };
  if (input.kind === 'url') return { kind: 'url', url: input.url };
  return { kind: 'job', job: input.job, output: input.output };
}

export type JobView = ReturnType<typeof jobView>;

/**
 * A job in a list: everything but `result`, which can be large (OCR words, mask RLEs); the job's
 * own URL (`links.self`) or `?include=result` gives it.
 */
export function jobSummary(job: Job): Omit<JobView, 'result'> {
  const { result: _result, ...summary } = jobView(job);
  return summary;
}
