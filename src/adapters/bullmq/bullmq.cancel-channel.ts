import type { Redis } from 'ioredis';
import type { Unsubscribe } from '../../core/ports/event-log.port.js';
import type { RedisLink } from './bullmq.connection.js';

/**
 * Cancel signals across machines: the API node that cancels a running job publishes its id on a
 * Redis pub/sub channel, and every worker node hears it at once (PostgreSQL's cancel_requested flag,
 * returned by the next heartbeat, is the slower path that works even while Redis is away).
 * Subscribing needs a connection of its own: a subscribed ioredis connection can do nothing else.
 */
export class CancelChannel {
  private sub: Redis | null = null;
  private readonly listeners = new Set<(jobId: string) => void>();

  constructor(private readonly link: RedisLink, readonly channel: string) {}

  async publish(jobId: string): Promise<void> {
    await this.link.guard('signal cancel', () => this.link.client.publish(this.channel, jobId));
  }

  subscribe(listener: (jobId: string) => void): Unsubscribe {
    this.listeners.add(listener);
    if (!this.sub) {
      // Offline queue on: the SUBSCRIBE sent before the connection is up waits for it, and ioredis
      // subscribes again by itself after every reconnection.
      const sub = (this.sub = this.link.client.duplicate({ enableOfflineQueue: true }));
      sub.on('error', () => {});
      sub.on('message', (channel: string, jobId: string) => {
        if (channel !== this.channel) return;
        for (const l of [...this.listeners]) l(jobId);
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
