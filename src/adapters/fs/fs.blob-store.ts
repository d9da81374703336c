import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, link, mkdir, rename, rm, stat, statfs, access } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { MediaflowError, toMediaflowError } from '../../core/errors.js';
import type { BlobInfo, BlobStore, PutOptions } from '../../core/ports/blob-store.port.js';

const SHA = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `<root>/ab/cd/<sha256>`. A write goes to `<root>/.tmp/<uuid>` while being
 * hashed, then is renamed into place (atomic on one filesystem); when the blob already exists the
 * temporary file is simply dropped, so identical content is stored once.
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

  async putFile(file: string): Promise<BlobInfo> {
    const hash = createHash('sha256');
    await pipeline(createReadStream(file), hash);
    const sha256 = hash.digest('hex');
    const st = await stat(file);
    const dest = this.pathOf(sha256);
    if (await exists(dest)) return { sha256, size: st.size };
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
    if (await exists(dest)) {
      await rm(tmpFile, { force: true });
      return;
    }
    await mkdir(path.dirname(dest), { recursive: true });
    await chmod(tmpFile, 0o444);
    await rename(tmpFile, dest);
  }

  async localPath(sha256: string): Promise<string> {
    const p = this.pathOf(sha256);
    if (!(await exists(p))) throw new MediaflowError('NOT_FOUND', `blob ${sha256} is missing`);
    return p;
  }

  async open(sha256: string, range?: { start: number; end: number }): Promise<Readable> {
    return createReadStream(await this.localPath(sha256), range ? { start: range.start, end: range.end } : undefined);
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

  async freeBytes(): Promise<number> {
    const s = await statfs(this.root);
    return s.bavail * s.bsize;
  }

  async ping(): Promise<void> {
    await access(this.root);
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
