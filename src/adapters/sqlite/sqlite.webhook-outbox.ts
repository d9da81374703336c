import type { WebhookDelivery, WebhookOutbox } from '../../core/ports/webhook-outbox.port.js';
import type { SqliteHandle } from './sqlite.db.js';

interface Row { id: number; job_id: string; url: string; event: string; body: string | null; attempts: number }

/** The webhook outbox in the shared SQLite file (filled by a trigger on `done` events, migration 6). */
export class SqliteWebhookOutbox implements WebhookOutbox {
  private readonly s;

  constructor(private readonly h: SqliteHandle) {
    const db = h.db;
    this.s = {
      claim: db.prepare(`UPDATE webhook_deliveries SET claimed_by = @owner, claimed_until = @until
        WHERE id IN (SELECT id FROM webhook_deliveries WHERE next_at <= @now AND (claimed_until IS NULL OR claimed_until < @now) ORDER BY next_at, id LIMIT @max)
        RETURNING id, job_id, url, event, body, attempts`),
      finish: db.prepare('DELETE FROM webhook_deliveries WHERE id = ? AND claimed_by = ?'),
      retry: db.prepare(`UPDATE webhook_deliveries SET attempts = @attempts, next_at = @nextAt, body = @body, last_error = @error,
        claimed_by = NULL, claimed_until = NULL WHERE id = @id AND claimed_by = @owner`),
      pending: db.prepare('SELECT count(*) AS n FROM webhook_deliveries'),
    };
  }

  async claim(owner: string, max: number, claimMs: number): Promise<WebhookDelivery[]> {
    const now = Date.now();
    const rows = this.h.tx(() => this.s.claim.all({ owner, until: now + claimMs, now, max }) as Row[]);
    return rows.sort((a, b) => a.id - b.id).map((r) => {
      const { status, error } = JSON.parse(r.event) as WebhookDelivery['ended'];
      return { id: String(r.id), jobId: r.job_id, url: r.url, ended: { status, error: error ?? null }, body: r.body, attempts: r.attempts };
    });
  }

  async finish(id: string, owner: string): Promise<void> {
    this.h.tx(() => this.s.finish.run(Number(id), owner));
  }

  async retryLater(id: string, owner: string, r: { attempts: number; delayMs: number; body: string; error: string }): Promise<void> {
    this.h.tx(() => this.s.retry.run({ id: Number(id), owner, attempts: r.attempts, nextAt: Date.now() + r.delayMs, body: r.body, error: r.error.slice(0, 2000) }));
  }

  async pending(): Promise<number> {
    return (this.s.pending.get() as { n: number }).n;
  }
}
