import { createHmac } from 'node:crypto';
import type { Runtime } from '../runtime.js';
import { jobView } from '../http/v1/job.view.js';
import { assertUrlAllowed } from '../net/index.js';

/**
 * Webhooks: when a job with a `webhook` ends, its JSON is POSTed there, signed with
 * `X-Mediaflow-Signature: sha256=<hex HMAC of the body>` when `webhooks.secret` is set, and retried
 * with exponential backoff (1 s, 2 s, 4 s, …) up to `webhooks.attempts` times. Delivery runs beside
 * the job, never holding it up. The URL obeys the same address policy as URL inputs.
 */
export function startWebhooks(rt: Runtime, log: (level: string, msg: string, extra?: object) => void) {
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  async function deliver(url: string, body: string, attempt: number): Promise<void> {
    if (closed) return;
    try {
      await assertUrlAllowed(url, rt.config);
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mediaflow-webhook' };
      if (rt.config.webhooks.secret) headers['x-mediaflow-signature'] = `sha256=${createHmac('sha256', rt.config.webhooks.secret).update(body).digest('hex')}`;
      const res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000), redirect: 'manual' });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return;
      throw new Error(`HTTP ${res.status}`);
    } catch (err) {
      if (attempt >= rt.config.webhooks.attempts) {
        log('warn', 'webhook delivery failed', { url, attempts: attempt, err: String(err) });
        return;
      }
      const t = setTimeout(() => { timers.delete(t); void deliver(url, body, attempt + 1); }, 1000 * 2 ** (attempt - 1));
      t.unref();
      timers.add(t);
    }
  }

  const unsubscribe = rt.events.subscribe('*', (ev) => {
    if (ev.type !== 'done') return;
    void rt.store.get(ev.jobId).then((job) => {
      if (job?.webhook) void deliver(job.webhook, JSON.stringify({ event: 'job.done', job: jobView(job) }), 1);
    }).catch(() => undefined);
  });

  return () => {
    closed = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
  };
}
