import type { NewJob, StoredInput } from '../core/job.types.js';

/**
 * A new job as the columns of a `jobs` row, the same in every SQL adapter. The JSON columns
 * (`params`, `input`, `meta`) are left as values: each adapter encodes them as it stores JSON
 * (SQLite: text; PostgreSQL: jsonb).
 */
export function newJobColumns(job: NewJob, status: 'queued' | 'waiting', input: StoredInput) {
  return {
    id: job.id,
    processor: job.processor,
    processor_version: job.processorVersion,
    params: job.params,
    input,
    input_sha256: input.kind === 'file' ? input.sha256 : null,
    status,
    upstream_job: job.upstream?.job ?? null,
    upstream_output: job.upstream?.output ?? null,
    priority: job.priority,
    max_attempts: job.maxAttempts,
    dedup_key: job.dedupKey,
    idempotency_key: job.idempotencyKey,
    request_fingerprint: job.requestFingerprint,
    meta: job.meta,
    meta_name: typeof job.meta.name === 'string' ? job.meta.name : null,
    webhook: job.webhook,
  };
}
