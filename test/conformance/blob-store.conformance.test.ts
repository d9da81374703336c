import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { BLOB_BACKENDS, type BlobBackend } from './backends.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function listShas(bb: BlobBackend): Promise<Set<string>> {
  const out = new Set<string>();
  for await (const e of bb.blobs.list()) out.add(e.sha256);
  return out;
}

/** The BlobStore port's contract, run on every adapter. */
for (const factory of BLOB_BACKENDS) {
  describe(`BlobStore conformance: ${factory.name}`, async () => {
    const reason = await factory.unavailable();
    let bb: BlobBackend;
    before(async () => { if (!reason) { bb = await factory.create(); await mkdir(bb.scratch, { recursive: true }); } });
    after(async () => { if (!reason) await bb.destroy(); });
    const it = (name: string, fn: () => Promise<void>) => test(name, { skip: reason ?? false }, fn);

    it('put stores the bytes under their sha256, once; stat and open read them back', async () => {
      const bytes = randomBytes(300_000);
      const info = await bb.blobs.put(Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]));
      assert.deepEqual(info, { sha256: sha(bytes), size: bytes.length });
      assert.deepEqual(await bb.blobs.put(bytes), info, 'the same content again: the same blob');
      assert.deepEqual(await bb.blobs.stat(info.sha256), info);
      const chunks: Buffer[] = [];
      for await (const c of await bb.blobs.open(info.sha256)) chunks.push(c as Buffer);
      assert.ok(Buffer.concat(chunks).equals(bytes));
    });

    it('ranges are exact (inclusive ends)', async () => {
      const bytes = Buffer.from('0123456789abcdefghij');
      const { sha256 } = await bb.blobs.put(bytes);
      assert.equal(await text(await bb.blobs.open(sha256, { start: 0, end: 0 })), '0');
      assert.equal(await text(await bb.blobs.open(sha256, { start: 5, end: 9 })), '56789');
      assert.equal(await text(await bb.blobs.open(sha256, { start: 19, end: 19 })), 'j');
    });

    it('a failed or too large stream leaves nothing (atomic put)', async () => {
      const before = await listShas(bb);
      let chunks = 0;
      const failing = new Readable({
        read() {
          this.push(randomBytes(64 * 1024));
          if (++chunks > 20) this.destroy(new Error('client went away'));
        },
      });
      await assert.rejects(bb.blobs.put(failing));
      await assert.rejects(bb.blobs.put(randomBytes(50_000), { maxBytes: 10_000 }), (e: { code?: string }) => e.code === 'INPUT_TOO_LARGE');
      assert.deepEqual(await listShas(bb), before);
      await bb.blobs.sweepPartial(Date.now() + 1000);
    });

    it('delete is idempotent; a missing blob reads as NOT_FOUND', async () => {
      const { sha256 } = await bb.blobs.put(randomBytes(100));
      await bb.blobs.delete(sha256);
      await bb.blobs.delete(sha256);
      assert.equal(await bb.blobs.stat(sha256), null);
      await assert.rejects(bb.blobs.open(sha256), (e: { code?: string }) => e.code === 'NOT_FOUND');
    });

    it('deleteIfUnchanged spares a blob touched by a later put', async () => {
      const bytes = randomBytes(1000);
      const { sha256 } = await bb.blobs.put(bytes);
      const bound = Date.now() + 5;
      await new Promise((r) => setTimeout(r, 1100));
      await bb.blobs.put(bytes); // a submit of the same content touches it
      assert.equal(await bb.blobs.deleteIfUnchanged(sha256, bound), false);
      assert.ok(await bb.blobs.stat(sha256));
      assert.equal(await bb.blobs.deleteIfUnchanged(sha256, Date.now() + 5000), true);
      assert.equal(await bb.blobs.stat(sha256), null);
    });

    it('withLocalFile hands out a readable local file, and leaves no copy behind', async () => {
      const bytes = randomBytes(5000);
      const { sha256 } = await bb.blobs.put(bytes);
      let seen = '';
      await bb.blobs.withLocalFile(sha256, bb.scratch, async (file) => {
        seen = file;
        assert.ok((await readFile(file)).equals(bytes));
      });
      if (!seen.startsWith(bb.scratch)) return; // the blob itself (local disk): nothing was copied
      assert.equal(existsSync(seen), false);
    });

    it('list() shows every stored blob with its size', async () => {
      const a = await bb.blobs.put(randomBytes(10));
      const b = await bb.blobs.put(randomBytes(20));
      const all = new Map<string, number>();
      for await (const e of bb.blobs.list()) all.set(e.sha256, e.size);
      assert.equal(all.get(a.sha256), 10);
      assert.equal(all.get(b.sha256), 20);
    });
  });
}
