import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * Scratch space on this machine's own disk: `<data>/tmp/<pid>-<random>/`, one folder per process,
 * with a folder per job attempt (or per fetch) inside, removed when the work ends. A process killed
 * with -9 leaves its folder behind; `sweep()` (at start and periodically) removes the folders of
 * processes that are no longer alive.
 */
export class Scratch {
  readonly root: string;
  private readonly mine: string;
  private made = false;

  constructor(dataDir: string) {
    this.root = path.join(dataDir, 'tmp');
    this.mine = path.join(this.root, `${HOST}-${process.pid}-${randomBytes(4).toString('hex')}`);
  }

  /** A new empty folder; the caller removes it with `release`. */
  async dir(prefix: string): Promise<string> {
    if (!this.made) {
      await mkdir(this.mine, { recursive: true });
      this.made = true;
    }
    return mkdtemp(path.join(this.mine, `${prefix.replace(/[^\w.-]/g, '_').slice(0, 40)}-`));
  }

  /** As `dir`, synchronously (for `ctx.tmpdir`, which processors read as a plain property). */
  dirSync(prefix: string): string {
    if (!this.made) {
      mkdirSync(this.mine, { recursive: true });
      this.made = true;
    }
    return mkdtempSync(path.join(this.mine, `${prefix.replace(/[^\w.-]/g, '_').slice(0, 40)}-`));
  }

  async release(dir: string | null | undefined): Promise<void> {
    if (dir) await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Removes the folders of dead processes (and anything else not shaped like a process folder). */
  async sweep(): Promise<number> {
    let removed = 0;
    let entries: string[] = [];
    try {
      entries = await readdir(this.root);
    } catch {
      return 0;
    }
    for (const name of entries) {
      const full = path.join(this.root, name);
      if (full === this.mine) continue;
      // Only this machine's folders are judged: a pid means nothing on another host sharing the folder.
      const m = /^(.+)-(\d+)-[0-9a-f]+$/.exec(name);
      if (m && m[1] !== HOST) continue;
      if (m && isAlive(Number(m[2]))) continue;
      await rm(full, { recursive: true, force: true }).catch(() => undefined);
      removed++;
    }
    return removed;
  }

  async close(): Promise<void> {
    await rm(this.mine, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** This machine, as it names its scratch folders (no dashes confuse the pattern above: it is greedy up to the pid). */
const HOST = os.hostname().replace(/[^\w.]/g, '_') || 'host';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
