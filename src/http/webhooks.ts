import { createHmac } from 'node:crypto';
import type { Runtime } from '../runtime.js';
import { jobView } from './v1/job.view.js';
import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, resolveAllowed } from '../net/url-guard.js';

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
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'mediaflow-webhook', 'content-length': String(Buffer.byteLength(body)) };
      if (rt.config.webhooks.secret) headers['x-mediaflow-signature'] = `sha256=${createHmac('sha256', rt.config.webhooks.secret).update(body).digest('hex')}`;
      const status = await post(url, headers, body);
      if (status >= 200 && status < 300) return;
      throw new Error(`HTTP ${status}`);
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

  /**
   * POSTs to the address the SSRF check approved (pinned lookup: no second DNS answer can point the
   * connection elsewhere); redirects are not followed.
   */
  async function post(url: string, headers: Record<string, string>, body: string): Promise<number> {
    const target = await resolveAllowed(url, rt.config);
    const lib = target.url.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const req = lib.request(target.url, { method: 'POST', headers, agent: false, lookup: pinnedLookup(target.addresses) as never, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('webhook timed out')));
      req.on('error', reject);
      req.end(body);
    });
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
