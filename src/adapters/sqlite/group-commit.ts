import type Database from 'better-sqlite3';

interface Pending<T = unknown> {
  fn: () => T;
  resolve: (v: T) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: write calls made in the same tick share one IMMEDIATE transaction, each inside its
 * own savepoint (a failing call rolls back alone). With several processes on one SQLite file every
 * transaction is a turn at the write lock, and a busy lock costs a sleep in SQLite's busy handler;
 * sharing turns is what lets a burst of submits or completions go through at thousands per second.
 */
export class GroupCommit {
  private pending: Pending[] = [];
  private scheduled = false;

  constructor(private readonly db: Database.Database, private readonly afterCommit: () => void = () => {}) {}

  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ fn, resolve, reject } as Pending);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush() {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    const outcomes: Array<{ ok: boolean; value: unknown }> = [];
    try {
      this.db.transaction(() => {
        for (const p of batch) {
          try {
            outcomes.push({ ok: true, value: this.db.transaction(p.fn)() });
          } catch (err) {
            outcomes.push({ ok: false, value: err });
          }
        }
      }).immediate();
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    batch.forEach((p, i) => (outcomes[i]!.ok ? p.resolve(outcomes[i]!.value) : p.reject(outcomes[i]!.value)));
    this.afterCommit();
  }
}
