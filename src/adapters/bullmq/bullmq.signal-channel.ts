import type { Redis } from 'ioredis';
import type { Unsubscribe } from '../../core/ports/event-log.port.js';
import type { RedisLink } from './bullmq.connection.js';

/**
 * A signal across machines on a Redis pub/sub channel: every subscribed process hears a published
 * word at once. Used for cancels (the API node that cancels a running job publishes its id; the
 * slower path, PostgreSQL's cancel_requested flag returned by the next heartbeat, works even while
 * Redis is away) and for new work (a processor's name, published when one of its jobs is
 * enqueued, wakes idle workers instead of leaving the job to their next poll).
 * Subscribing needs a connection of its own: a subscribed ioredis connection can do nothing else.
 */
export class SignalChannel {
  private sub: Redis | null = null;
  private readonly listeners = new Set<(word: string) => void>();

  constructor(private readonly link: RedisLink, readonly channel: string) {}

  async publish(word: string): Promise<void> {
    await this.link.guard(`signal ${this.channel}`, () => this.link.client.publish(this.channel, word));
  }

  subscribe(listener: (word: string) => void): Unsubscribe {
    this.listeners.add(listener);
    if (!this.sub) {
      // Offline queue on: the SUBSCRIBE sent before the connection is up waits for it, and ioredis
      // subscribes again by itself after every reconnection.
      const sub = (this.sub = this.link.client.duplicate({ enableOfflineQueue: true }));
      sub.on('error', () => {});
      sub.on('message', (channel: string, word: string) => {
        if (channel !== this.channel) return;
        for (const l of [...this.listeners]) l(word);
      });
      sub.subscribe(this.channel).catch(() => {});
    }
    return () => { this.listeners.delete(listener); };
  }

  close(): void {
    this.listeners.clear();
    this.sub?.disconnect();
    this.sub = null;
  }
}
