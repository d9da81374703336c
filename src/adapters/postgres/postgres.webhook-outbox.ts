import { sql } from 'kysely';
import type { WebhookDelivery, WebhookOutbox } from '../../core/ports/webhook-outbox.port.js';
import type { PgDb } from './postgres.db.js';

const ms = (n: number) => sql<Date>`now() + ${`${Math.round(n)} milliseconds`}::interval`;

/**
 * The webhook outbox in PostgreSQL (filled by a trigger on `done` events, migration 004). Claims
 * skip rows another API node is claiming at the same moment (SKIP LOCKED), so nodes never wait
 * on each other and never claim the same delivery.
 */
export class PgWebhookOutbox implements WebhookOutbox {
  private closed = false;

  constructor(private readonly pg: PgDb) {
    pg.retain();
  }

  async claim(owner: string, max: number, claimMs: number): Promise<WebhookDelivery[]> {
    return this.pg.run(async (db) => {
      const rows = await db.updateTable('webhook_deliveries')
        .set({ claimed_by: owner, claimed_until: ms(claimMs) })
        .where('id', 'in', (eb) => eb.selectFrom('webhook_deliveries').select('id')
          .where('next_at', '<=', sql<Date>`now()`)
          .where((w) => w.or([w('claimed_until', 'is', null), w('claimed_until', '<', sql<Date>`now()`)]))
          .orderBy('next_at').orderBy('id').limit(max)
          .forUpdate().skipLocked())
        .returning(['id', 'job_id', 'url', 'event', 'body', 'attempts'])
        .execute();
      return rows.sort((a, b) => Number(a.id) - Number(b.id))
        .map((r) => {
          const { status, error } = r.event as WebhookDelivery['ended'];
          return { id: String(r.id), jobId: r.job_id, url: r.url, ended: { status, error: error ?? null }, body: r.body, attempts: r.attempts };
        });
    });
  }

  async finish(id: string, owner: string): Promise<void> {
    await this.pg.run((db) => db.deleteFrom('webhook_deliveries').where('id', '=', id).where('claimed_by', '=', owner).execute());
  }

  async retryLater(id: string, owner: string, r: { attempts: number; delayMs: number; body: string; error: string }): Promise<void> {
    await this.pg.run((db) => db.updateTable('webhook_deliveries')
      .set({ attempts: r.attempts, next_at: ms(r.delayMs), body: r.body, last_error: r.error.slice(0, 2000), claimed_by: null, claimed_until: null })
      .where('id', '=', id).where('claimed_by', '=', owner)
      .execute());
  }

  async pending(): Promise<number> {
    return this.pg.run(async (db) => {
      const row = await db.selectFrom('webhook_deliveries').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pg.release();
  }
}
