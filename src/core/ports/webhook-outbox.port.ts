import type { JobError, JobStatus } from '../job.types.js';

/** One webhook delivery: a job's ending, to be POSTed to the webhook the job was submitted with. */
export interface WebhookDelivery {
  /** Stable across retries (the `X-Mediaflow-Delivery` header): receivers deduplicate on it. */
  id: string;
  jobId: string;
  url: string;
  /** The `done` event as it was written: what is reported when the job is gone by the first attempt. */
  ended: { status: JobStatus; error?: JobError | null };
  /** The body as first sent, so every retry sends the same bytes; null before the first attempt. */
  body: string | null;
  /** Attempts made so far. */
  attempts: number;
}

/**
 * Webhook deliveries waiting to be sent, kept with the job records so that none is lost to a
 * restart. Adapters add a delivery in the same transaction as a job's `done` event when the job
 * has a webhook, whatever path ended the job. Senders claim due deliveries for a while under
 * their own name: with several API processes each delivery is sent by one of them; a sender that
 * dies mid-claim leaves it to be claimed again once the claim runs out (at-least-once).
 * Adapters: SQLite, PostgreSQL.
 */
export interface WebhookOutbox {
  /** Claims up to `max` due, unclaimed (or claim-expired) deliveries for `owner` for `claimMs`. */
  claim(owner: string, max: number, claimMs: number): Promise<WebhookDelivery[]>;
  /** Sent (or given up): the delivery is removed. Only the claim's owner may do it. */
  finish(id: string, owner: string): Promise<void>;
  /** Failed: released, to be claimed again after `delayMs`, with the body it was sent with. */
  retryLater(id: string, owner: string, r: { attempts: number; delayMs: number; body: string; error: string }): Promise<void>;
  /** Deliveries not yet sent (for /metrics). */
  pending(): Promise<number>;
}
