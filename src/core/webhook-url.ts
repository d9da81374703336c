import type { AppConfig } from '../config/config.schema.js';
import { InputError, isMediaflowError } from './errors.js';

/**
 * Checks a submit's webhook against the address policy of URL inputs, so a webhook that can never
 * be delivered (not http(s), or pointing at loopback, private or metadata addresses) is refused at
 * submit with WEBHOOK_URL_INVALID instead of failing silently when the job ends. A host that does
 * not resolve right now is accepted: delivery checks the address again, each attempt.
 */
export async function checkWebhookUrl(url: string, config: AppConfig, checkUrl: (url: string, config: AppConfig) => Promise<URL>): Promise<void> {
  try {
    await checkUrl(url, config);
  } catch (err) {
    if (isMediaflowError(err) && (err.code === 'URL_INVALID' || err.code === 'URL_FORBIDDEN')) {
      throw new InputError('WEBHOOK_URL_INVALID', `webhook: ${err.message}`, { details: { field: 'webhook', reason: err.code } });
    }
    if (isMediaflowError(err) && err.code === 'URL_UNREACHABLE') return;
    throw err;
  }
}
