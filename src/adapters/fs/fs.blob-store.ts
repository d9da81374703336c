import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, mkdir, readdir, rename, rm, stat, statfs, access, utimes } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaflowError, toMediaflowError } from '../../core/errors.js';
import type { BlobEntry, BlobInfo, BlobStore, PutOptions } from '../../core/ports/blob-store.port.js';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `<root>/ab/cd/<sha256>`. A write goes to `<root>/.tmp/<uuid>` while being
 * hashed, then is renamed into place (atomic on one filesystem); when the blob already exists the
 * temporary file is dropped and the blob's mtime touched, so identical content is stored once and
 * the sweeper's grace period starts again (see `deleteIfUnchanged` for why that is race-free).
 */
export class FsBlobStore implements BlobStore {
  private readonly tmp: string;

  constructor(private readonly root: string) {
    this.tmp = path.join(root, '.tmp');
  }

  async init(): Promise<this> {
    await mkdir(this.tmp, { recursive: true });
    return this;
  }

  private pathOf(sha256: string): string {
    if (!SHA.test(sha256)) throw new MediaflowError('NOT_FOUND', 'invalid blob id');
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2, 4), sha256);
  }

  async put(source: Readable | Buffer, opts: PutOptions = {}): Promise<BlobInfo> {
    const tmpFile = path.join(this.tmp, randomUUID());
    const hash = createHash('sha256');
    let size = 0;
    const max = opts.maxBytes ?? Infinity;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        size += chunk.length;
        if (size > max) return cb(new MediaflowError('INPUT_TOO_LARGE', `The input is larger than ${Math.floor(max / 1048576)} MiB`));
        hash.update(chunk);
        cb(null, chunk);
      },
    });
    try {
      const input = Buffer.isBuffer(source) ? Readable.from([source]) : source;
      await pipeline(input, meter, createWriteStream(tmpFile, { flags: 'wx' }), { signal: opts.signal });
      // @fastify/multipart truncates instead of erroring when its own limit is hit.
      if ((source as Readable & { truncated?: boolean }).truncated) throw new MediaflowError('INPUT_TOO_LARGE');
      const sha256 = hash.digest('hex');
      await this.commit(tmpFile, sha256);
      return { sha256, size };
    } catch (err) {
      await rm(tmpFile, { force: true });
      throw toMediaflowError(err);
    }
  }

  async putFile(file: string, opts: PutOptions = {}): Promise<BlobInfo> {
    const st = await stat(file);
    if (opts.maxBytes !== undefined && st.size > opts.maxBytes) throw new MediaflowError('INPUT_TOO_LARGE', `The input is larger than ${Math.floor(opts.maxBytes / 1048576)} MiB`);
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash, { signal: opts.signal });
    const sha256 = hash.digest('hex');
    const dest = this.pathOf(sha256);
    if (await touch(dest)) return { sha256, size: st.size };
    await mkdir(path.dirname(dest), { recursive: true });
    const tmpFile = path.join(this.tmp, randomUUID());
    try {
      // A hard link is instant; fall back to a streamed copy across filesystems.
      await link(file, tmpFile).catch(async () => pipeline(createReadStream(file), createWriteStream(tmpFile)));
      await this.commit(tmpFile, sha256);
    } catch (err) {
      await rm(tmpFile, { force: true });
      throw toMediaflowError(err);
    }
    return { sha256, size: st.size };
  }

  private async commit(tmpFile: string, sha256: string): Promise<void> {
    const dest = this.pathOf(sha256);
    if (await touch(dest)) {
      await rm(tmpFile, { force: true });
      return;
    }
    await mkdir(path.dirname(dest), { recursive: true });
    await chmod(tmpFile, 0o444);
    // A hard-linked file keeps its source's mtime: a new blob must start its grace period now.
    const now = new Date();
    await utimes(tmpFile, now, now);
    await rename(tmpFile, dest);
  }

  private async existing(sha256: string): Promise<string> {
    const p = this.pathOf(sha256);
    if (!(await exists(p))) throw new MediaflowError('NOT_FOUND', `blob ${sha256} is missing`);
    return p;
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    const file = await this.existing(sha256);
    const stream = createReadStream(file, range ? { start: range.start, end: range.end } : undefined);
    // Opened before returning, so that a blob removed right now fails here and not mid-response.
    await new Promise<void>((resolve, reject) => stream.once('open', () => resolve()).once('error', reject));
    return stream;
  }

  /** The blob itself, read-only: no copy is needed on a local disk. */
  async withLocalFile<T>(sha256: string, _scratchDir: string, fn: (file: string) => Promise<T>): Promise<T> {
    return fn(await this.existing(sha256));
  }

  async *list(): AsyncIterable<BlobEntry> {
    for (const a of await readdirSafe(this.root)) {
      if (!/^[0-9a-f]{2}$/.test(a)) continue;
      for (const b of await readdirSafe(path.join(this.root, a))) {
        for (const name of await readdirSafe(path.join(this.root, a, b))) {
          if (!SHA.test(name)) continue;
          try {
            const st = await stat(path.join(this.root, a, b, name));
            yield { sha256: name, size: st.size, modifiedMs: st.mtimeMs };
          } catch { /* removed meanwhile */ }
        }
      }
    }
  }

  /**
   * Moves the blob aside (rename is atomic), then checks its mtime again: a `put` that touched it
   * before the move shows there, and the blob goes back; a `put` after the move finds no blob and
   * writes a fresh one. Either way a concurrent submit keeps its content.
   */
  async deleteIfUnchanged(sha256: string, notModifiedSinceMs: number): Promise<boolean> {
    const file = this.pathOf(sha256);
    const aside = path.join(this.tmp, `sweep-${sha256}-${randomUUID()}`);
    try {
      if ((await stat(file)).mtimeMs > notModifiedSinceMs) return false;
      await rename(file, aside);
    } catch {
      return false;
    }
    const st = await stat(aside);
    if (st.mtimeMs > notModifiedSinceMs) {
      // Touched between the check and the move: restore it (a newer copy may already be back).
      await link(aside, file).catch(() => undefined);
      await rm(aside, { force: true });
      return false;
    }
    await rm(aside, { force: true });
    return true;
  }

  async sweepPartial(beforeMs: number): Promise<number> {
    let n = 0;
    for (const name of await readdirSafe(this.tmp)) {
      const p = path.join(this.tmp, name);
      try {
        if ((await stat(p)).mtimeMs < beforeMs) {
          await rm(p, { force: true });
          n++;
        }
      } catch { /* gone meanwhile */ }
    }
    return n;
  }

  async stat(sha256: string): Promise<BlobInfo | null> {
    try {
      const st = await stat(this.pathOf(sha256));
      return { sha256, size: st.size };
    } catch {
      return null;
    }
  }

  async delete(sha256: string): Promise<void> {
    await rm(this.pathOf(sha256), { force: true });
  }

  async freeBytes(): Promise<number | null> {
    const s = await statfs(this.root);
    return s.bavail * s.bsize;
  }

  async ping(): Promise<void> {
    await access(this.root);
  }
}

/** Refreshes a blob's mtime; false when it does not exist. */
async function touch(p: string): Promise<boolean> {
  try {
    const now = new Date();
    await utimes(p, now, now);
    return true;
  } catch {
    return false;
  }
}

async function readdirSafe(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await access(p);
    return true;
  } catch {
    return false;
  }
}
