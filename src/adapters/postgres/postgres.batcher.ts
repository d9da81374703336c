/**
 * Group commit for one kind of write: the first call runs at once, alone; calls arriving while a
 * transaction is in flight wait and run together in the next one (`many`), so a busy process
 * commits many writes per round of statements. When a batch fails, each of its calls is tried
 * alone (`one`), so one bad write fails alone.
 */
export class Batcher<I, O> {
  private readonly waiting: Array<{ item: I; resolve: (o: O) => void; reject: (err: unknown) => void }> = [];
  private draining = false;

  constructor(
    private readonly one: (item: I) => Promise<O>,
    private readonly many: (items: I[]) => Promise<O[]>,
    private readonly max = 200,
  ) {}

  run(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.waiting.length > 0) {
        const batch = this.waiting.splice(0, this.max);
        if (batch.length > 1) {
          try {
            const out = await this.many(batch.map((b) => b.item));
            batch.forEach((b, i) => b.resolve(out[i]!));
            continue;
          } catch {
            // Tried alone below.
          }
        }
        await Promise.all(batch.map((b) => this.one(b.item).then(b.resolve, b.reject)));
      }
    } finally {
      this.draining = false;
    }
  }
}
