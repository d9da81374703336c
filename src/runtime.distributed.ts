import type { AppConfig } from './config/config.schema.js';
import { MediaflowError } from './core/errors.js';

/** Distributed mode: PostgreSQL (records, events, leases), BullMQ on Redis (the queue), S3 (files). */
export async function openDistributed(_config: AppConfig): Promise<never> {
  throw new MediaflowError('INTERNAL', 'distributed mode is not available in this build');
}
