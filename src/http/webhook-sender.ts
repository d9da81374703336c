import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import type { AppConfig } from '../config/config.schema.js';
import type { EventLog } from '../core/ports/event-log.port.js';
import type { JobStore } from '../core/ports/job-store.port.js';
import type { WebhookDelivery, WebhookOutbox } from '../core/ports/webhook-outbox.port.js';
import { pinnedLookup, resolveAllowed } from '../net/url-guard.js';
import { serialRunner } from '../util/serial-runner.js';
import { jobView } from './v1/job.view.js';

/** A claim outlives any one POST (10 s) with room to spare; a sender that dies leaves it to lapse. */
const CLAIM_MS = 60_000;
const POST_TIMEOUT_MS = 10_000;
/** Deliveries in flight at once per process. */
const MAX_IN_FLIGHT = 16;
/** Due retries, and deliveries other processes' jobs made, are looked for this often. */
const POLL_MS = 1000;

export interface WebhookSenderDeps {
  outbox: WebhookOutbox;
  store: JobStore;
  events: EventLog;
  config: AppConfig;
  log: (level: string, msg: string, extra?: object) => void;
}

/**
 * Sends webhooks from the outbox: when a job with a `webhook` ends, its JSON
 * (`{"event":"job.done","job":{…}}`) is POSTed there with `X-Mediaflow-Delivery` (stable across
 * retries: receivers deduplicate on it) and, when `webhooks.secret` is set,
 * `X-Mediaflow-Signature: sha256=<hex HMAC of the body>`. A job deleted before its first attempt is
 * reported by id, status and error, with `deleted: true`. A failure (no 2xx, timeout, refused
 * address) is retried after 1 s, 2 s, 4 s, … up to `webhooks.attempts` attempts — also after a
 * restart, since the outbox is stored. Every API process runs a sender; each delivery is claimed
 * by one of them. The URL obeys the address policy of URL inputs, checked again at each attempt;
 * redirects are not followed.
 */
export class WebhookSender {
  readonly owner = `${os.hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  private readonly inFlight = new Map<string, AbortController>();
  private readonly sending = new Set<Promise<void>>();
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  private unsubscribe: (() => void) | null = null;
  private lastOutboxError = 0;

  constructor(private readonly d: WebhookSenderDeps) {}

  start(): this {
    // A job ending anywhere wakes the sender at once; the poll finds due retries.
    this.unsubscribe = this.d.events.subscribe('*', (ev) => { if (ev.type === 'done') this.kick(); });
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
    this.kick();
    return this;
  }

  /** Stops claiming, cuts the POSTs in flight and hands their deliveries back, unspent, for the next sender. */
  async stop(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    if (this.timer) clearInterval(this.timer);
    for (const c of this.inFlight.values()) c.abort();
    await Promise.allSettled([...this.sending]);
  }

  /** Claims as many due deliveries as there is room for, and starts them; once more if woken meanwhile. */
  private readonly kick = serialRunner(async () => {
    const room = MAX_IN_FLIGHT - this.inFlight.size;
    if (room <= 0 || this.closed) return;
    try {
      const due = await this.d.outbox.claim(this.owner, room, CLAIM_MS);
      for (const delivery of due) this.launch(delivery);
      if (due.length === room) this.kick(); // the outbox may hold more
    } catch (err) {
      // The store is down: the next poll tries again. Said once a minute, not every second.
      if (Date.now() - this.lastOutboxError > 60_000) {
        this.lastOutboxError = Date.now();
        this.d.log('warn', 'webhook outbox unavailable', { err: String(err) });
      }
    }
  });

  private launch(delivery: WebhookDelivery): void {
    const controller = new AbortController();
    // Claimed while the sender was stopping: handed straight back for the next sender.
    if (this.closed) controller.abort();
    this.inFlight.set(delivery.id, controller);
    const p = this.send(delivery, controller.signal)
      .catch((err) => this.d.log('warn', 'webhook outbox unavailable', { err: String(err) }))
      .finally(() => {
        this.inFlight.delete(delivery.id);
        this.sending.delete(p);
        if (!this.closed) this.kick();
      });
    this.sending.add(p);
  }

  private async send(delivery: WebhookDelivery, signal: AbortSignal): Promise<void> {
    const { outbox, config, log } = this.d;
    let body = delivery.body;
    if (body === null) {
      // First attempt: the job as it ended — or, when it was deleted since, how it ended.
      const job = await this.d.store.get(delivery.jobId);
      body = JSON.stringify({
        event: 'job.done',
        job: job ? jobView(job) : { id: delivery.jobId, status: delivery.ended.status, error: delivery.ended.error ?? null, deleted: true },
      });
    }
    const attempt = delivery.attempts + 1;
    try {
      const status = await this.post(delivery, body, signal);
      if (status < 200 || status >= 300) throw new Error(`HTTP ${status}`);
      await outbox.finish(delivery.id, this.owner);
      log('debug', 'webhook delivered', { jobId: delivery.jobId, delivery: delivery.id, attempts: attempt });
    } catch (err) {
      if (signal.aborted) {
        // Stopping: not an attempt; the delivery is due again at once, for whichever sender is up.
        await outbox.retryLater(delivery.id, this.owner, { attempts: delivery.attempts, delayMs: 0, body, error: 'sender stopped' });
        return;
      }
      if (attempt >= config.webhooks.attempts) {
        log('warn', 'webhook delivery failed', { jobId: delivery.jobId, url: delivery.url, attempts: attempt, err: String(err) });
        await outbox.finish(delivery.id, this.owner);
        return;
      }
      await outbox.retryLater(delivery.id, this.owner, { attempts: attempt, delayMs: 1000 * 2 ** (attempt - 1), body, error: String(err) });
    }
  }

  /**
   * POSTs to the address the address policy approved (pinned lookup: no second DNS answer can
   * point the connection elsewhere); redirects are not followed.
   */
  private async post(delivery: WebhookDelivery, body: string, signal: AbortSignal): Promise<number> {
    const { config } = this.d;
    const target = await resolveAllowed(delivery.url, config);
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'user-agent': 'mediaflow-webhook',
      'x-mediaflow-event': 'job.done',
      'x-mediaflow-delivery': delivery.id,
    };
    if (config.webhooks.secret) headers['x-mediaflow-signature'] = `sha256=${createHmac('sha256', config.webhooks.secret).update(body).digest('hex')}`;
    const lib = target.url.protocol === 'https:' ? https : http;
    return new Promise<number>((resolve, reject) => {
      const req = lib.request(target.url, { method: 'POST', headers, agent: false, lookup: pinnedLookup(target.addresses) as never, timeout: POST_TIMEOUT_MS, signal }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('timeout', () => req.destroy(new Error('webhook timed out')));
      req.on('error', reject);
      req.end(body);
    });
  }
}
