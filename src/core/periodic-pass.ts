/**
 * A background pass (a sweep, a reconcile) run now and every `everyMs`: concurrent callers share
 * the pass in flight, a failing pass is logged and the next one tries again, and `stop()` waits
 * for the pass in flight.
 */
export class PeriodicPass<T> {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<T> | null = null;

  constructor(private readonly pass: () => Promise<T>, private readonly onError: (err: unknown) => void) {}

  run(): Promise<T> {
    this.running ??= this.pass().finally(() => { this.running = null; });
    return this.running;
  }

  start(everyMs: number): void {
    const tick = () => void this.run().catch(this.onError);
    tick();
    this.timer = setInterval(tick, everyMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running?.catch(() => undefined);
  }
}
