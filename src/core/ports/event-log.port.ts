import type { JobEvent } from '../job.types.js';

export interface StoredEvent {
  id: number;
  event: JobEvent;
}

export type Unsubscribe = () => void;
export type EventListener = (event: JobEvent, eventId: number) => void;

/**
 * Job events, in order, for every process. Adapters append an event in the same transaction as the
 * state change it reports (a job's status, progress, outputs); this port reads them back.
 * SQLite: the `events` table, woken at once in-process and by a short poll across processes.
 * PostgreSQL: the `events` table with LISTEN/NOTIFY and a 1 s poll as a fallback.
 */
export interface EventLog {
  /** Appends an event that no state change carries (a worker's log line is written by the queue). */
  append(event: JobEvent): Promise<number>;
  /** Events with id > `afterId`, oldest first. Ids increase; a reader that follows them sees no gaps. */
  read(afterId: number, limit: number): Promise<StoredEvent[]>;
  lastId(): Promise<number>;
  /** Listens to one job's events (`'*'`: every job's) from now on, in order, without gaps. */
  subscribe(jobId: string, listener: EventListener): Unsubscribe;
  /** Deletes events older than `olderThan` (retention). */
  prune(olderThan: Date): Promise<void>;
  close(): Promise<void>;
}
