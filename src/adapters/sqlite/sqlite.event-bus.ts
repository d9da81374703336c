import type { JobEvent } from '../../core/job.types.js';
import type { JobStore } from '../../core/ports/job-store.port.js';
import type { EventBus, Unsubscribe } from '../../core/ports/event-bus.port.js';

type Listener = (event: JobEvent, eventId: number) => void;

/**
 * The embedded event bus: tails the store's events table while anyone listens. The table is
 * shared by all processes on the data folder, so a worker process's progress reaches the API's SSE
 * streams without any other broker. Polls every `intervalMs` (default 25 ms) only while there are
 * listeners; `nudge()` makes the next read immediate.
 */
export class StoreTailEventBus implements EventBus {
  private readonly listeners = new Map<string, Set<Listener>>();
  private lastId = -1;
  private timer: NodeJS.Timeout | null = null;
  private reading = false;
  private closed = false;

  constructor(private readonly store: JobStore, private readonly intervalMs = 25) {}

  subscribe(jobId: string, listener: Listener): Unsubscribe {
    let set = this.listeners.get(jobId);
    if (!set) this.listeners.set(jobId, (set = new Set()));
    set.add(listener);
    this.start();
    return () => {
      set!.delete(listener);
      if (set!.size === 0) this.listeners.delete(jobId);
      if (this.listeners.size === 0) this.stop();
    };
  }

  /** Read new events now (used after this process itself wrote events). */
  nudge(): void {
    if (this.listeners.size) void this.tick();
  }

  private start() {
    if (this.timer || this.closed) return;
    if (this.lastId < 0) {
      // Only events after the first subscription matter; a subscriber reads the job's current state itself.
      void this.store.lastEventId().then((id) => { if (this.lastId < 0) this.lastId = id; });
    }
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  private async tick() {
    if (this.reading || this.lastId < 0) return;
    this.reading = true;
    try {
      for (;;) {
        const batch = await this.store.readEvents(this.lastId, 500);
        for (const { id, event } of batch) {
          this.lastId = id;
          for (const key of [event.jobId, '*']) {
            for (const l of this.listeners.get(key) ?? []) {
              try { l(event, id); } catch { /* a listener's failure is its own */ }
            }
          }
        }
        if (batch.length < 500) break;
      }
    } catch {
      // Store busy or closing: try again on the next tick.
    } finally {
      this.reading = false;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stop();
    this.listeners.clear();
  }
}
