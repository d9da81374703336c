import type { BlobStore } from './core/ports/blob-store.port.js';
import type { EventLog } from './core/ports/event-log.port.js';
import type { JobStore } from './core/ports/job-store.port.js';
import type { Queue } from './core/ports/queue.port.js';
import type { WebhookOutbox } from './core/ports/webhook-outbox.port.js';
import type { WorkerRegistry } from './core/ports/worker-registry.port.js';

/** What a mode's composition provides: one adapter per port, the services /ready names, and how to close them. */
export interface Adapters {
  store: JobStore;
  queue: Queue;
  blobs: BlobStore;
  events: EventLog;
  workers: WorkerRegistry;
  webhooks: WebhookOutbox;
  services: Record<string, () => Promise<void>>;
  /** Called when the queue's backing service came back (it may have lost its state): reconcile. */
  onQueueReconnect?(fn: () => void): () => void;
  close(): Promise<void>;
}
