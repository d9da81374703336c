import type { ErrorCode } from './errors.js';

/** `waiting`: the job takes its input from another job's output and waits for that job to succeed. */
export const JOB_STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'canceled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled'];

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.includes(status);
}

/**
 * The job's input as stored: file inputs point at a blob by sha256; URL inputs keep the URL; a
 * job input names another job's output until that job succeeds, then becomes that output's file.
 */
export type StoredInput =
  | { kind: 'file'; sha256: string; name: string; mime: string; size: number }
  | { kind: 'url'; url: string }
  | { kind: 'job'; job: string; output: string };

/** Where a chained job's input comes from. */
export interface Upstream {
  job: string;
  output: string;
}

export interface JobOutput {
  name: string;
  size: number;
  mime: string;
  sha256: string;
}

export interface JobError {
  code: ErrorCode | string;
  message: string;
}

export interface Job {
  id: string;
  processor: string;
  processorVersion: string;
  params: Record<string, unknown>;
  input: StoredInput;
  status: JobStatus;
  progress: number;
  stage: string | null;
  priority: number;
  attempts: number;
  maxAttempts: number;
  error: JobError | null;
  result: unknown;
  outputs: JobOutput[];
  dedupKey: string | null;
  idempotencyKey: string | null;
  /** Free-form metadata: which compat route made the job, the client's original file name, … */
  meta: Record<string, unknown>;
  webhook: string | null;
  /** The job whose output is this job's input (a chain), or null. */
  upstream: Upstream | null;
  cancelRequested: boolean;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export interface NewJob {
  id: string;
  processor: string;
  processorVersion: string;
  params: Record<string, unknown>;
  input: StoredInput;
  /** Set when the input is another job's output (also after it resolved to that output's file). */
  upstream: Upstream | null;
  priority: number;
  maxAttempts: number;
  dedupKey: string | null;
  idempotencyKey: string | null;
  requestFingerprint: string | null;
  meta: Record<string, unknown>;
  webhook: string | null;
}

export interface JobListFilter {
  status?: JobStatus[];
  processor?: string[];
  /** Opaque cursor from the previous page. */
  cursor?: string;
  limit: number;
  /** Match `meta[key] = value` (compat routes look jobs up by the client's file name). */
  meta?: { key: string; value: string };
}

export interface JobPage {
  items: Job[];
  nextCursor: string | null;
}

/** Events published for a job, in order. SSE sends them as they are. */
export type JobEvent =
  | { type: 'status'; jobId: string; status: JobStatus; attempts: number; error?: JobError | null }
  | { type: 'progress'; jobId: string; progress: number; stage: string | null }
  | { type: 'log'; jobId: string; level: string; message: string }
  | { type: 'output'; jobId: string; output: JobOutput }
  | { type: 'done'; jobId: string; status: JobStatus; error?: JobError | null };
