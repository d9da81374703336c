import type { JobEvent } from '../job.types.js';

export type Unsubscribe = () => void;

/**
 * Job events, in order, to whoever listens in this process (SSE streams, `Prefer: wait`, compat
 * routes that answer synchronously, metrics). Producers write events through the JobStore/Queue,
 * so workers in other processes reach the API's listeners: the embedded bus tails the events
 * table; the distributed one uses Redis pub/sub.
 */
export interface EventBus {
  /** `jobId` '*' listens to every job. */
  subscribe(jobId: string, listener: (event: JobEvent, eventId: number) => void): Unsubscribe;
  close(): Promise<void>;
}
