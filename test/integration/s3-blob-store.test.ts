// The S3 blob store against a real S3 server that checks signatures (OpenStack Swift with s3api,
// started by scripts/s3-server.sh on a free port). Skipped only when that server's Debian packages
// cannot be installed on this machine.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ListMultipartUploadsCommand, ListObjectsV2Command, ListPartsCommand, type S3Client } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../src/adapters/s3/s3.blob-store.js';
import { createS3Client, type S3Settings } from '../../src/adapters/s3/s3.client.js';
import { MediaflowError } from '../../src/core/errors.js';
import { s3UnavailableReason, startS3ForTests } from '../conformance/backend.s3.js';
import { rejectsWith } from '../helpers/assertions.js';

const MiB = 1024 * 1024;
const s3 = await startS3ForTests();
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function readAll(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('S3BlobStore on an S3 server (Swift s3api)', { skip: s3 ? false : `no S3 server: ${s3UnavailableReason}` }, () => {
  let settings: S3Settings;
  let store: S3BlobStore;
  let raw: S3Client;
  let scratch: string;

  // Everything under the store's prefix: content keys, temporary objects, unfinished uploads.
  async function leftovers(prefix = store.keys.tmp): Promise<{ objects: string[]; uploads: string[] }> {
    const objects = await raw.send(new ListObjectsV2Command({ Bucket: settings.bucket, Prefix: prefix }));
    const uploads = await raw.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: prefix }));
    return { objects: (objects.Contents ?? []).map((o) => o.Key!), uploads: (uploads.Uploads ?? []).map((u) => u.Key!) };
  }
  async function listed(): Promise<Map<string, { size: number; modifiedMs: number }>> {
    const m = new Map<string, { size: number; modifiedMs: number }>();
    for await (const e of store.list()) m.set(e.sha256, e);
    return m;
  }

  before(async () => {
    settings = { endpoint: s3!.endpoint, region: s3!.region, bucket: s3!.bucket, accessKeyId: s3!.accessKeyId, secretAccessKey: s3!.secretAccessKey, prefix: 'mf', presignDownloads: true };
    // 5 MiB parts (the minimum) so that a few MiB exercise multipart uploads; pages of 2 keys so
    // that a few blobs exercise listing pagination.
    store = new S3BlobStore(settings, { partSize: 5 * MiB, queueSize: 2, listPageSize: 2 });
    raw = createS3Client(settings);
    scratch = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-s3-scratch-'));
  });

  after(async () => {
    await store?.close();
    raw?.destroy();
    if (scratch) await rm(scratch, { recursive: true, force: true });
    await s3?.dispose();
  });

  it('stores a multipart stream under its sha256 and reads exact byte ranges back', async () => {
    const data = randomBytes(12 * MiB + 12345);
    // Uneven chunks, as a network upload delivers them.
    const info = await store.put(Readable.from([data.subarray(0, 1000), data.subarray(1000, 7 * MiB), data.subarray(7 * MiB)]));
    assert.deepEqual(info, { sha256: sha(data), size: data.length });
    assert.deepEqual(await store.stat(info.sha256), info);
    assert.ok((await readAll(await store.open(info.sha256))).equals(data));
    const n = data.length;
    for (const [start, end] of [[0, 0], [5 * MiB - 1, 5 * MiB], [1234, 7 * MiB + 99], [n - 10, n - 1]] as const) {
      assert.ok((await readAll(await store.open(info.sha256, { start, end }))).equals(data.subarray(start, end + 1)), `range ${start}-${end}`);
    }
    // Past the end: clamped like a file read, then nothing at all.
    assert.ok((await readAll(await store.open(info.sha256, { start: n - 3, end: n + 100 }))).equals(data.subarray(n - 3)));
    assert.equal((await readAll(await store.open(info.sha256, { start: n + 5, end: n + 10 }))).length, 0);
    await rejectsWith(store.open(info.sha256, { start: 10, end: 5 }), 'INVALID_REQUEST');
    // The temporary object is gone once the blob is published.
    assert.deepEqual(await leftovers(), { objects: [], uploads: [] });
    const key = store.keys.blob(info.sha256);
    assert.equal(key, `mf/blobs/${info.sha256.slice(0, 2)}/${info.sha256.slice(2, 4)}/${info.sha256}`);
  });

  it('stores a small buffer and the empty blob', async () => {
    const hello = await store.put(Buffer.from('hello'));
    assert.equal(hello.sha256, sha(Buffer.from('hello')));
    assert.equal((await readAll(await store.open(hello.sha256))).toString(), 'hello');
    const empty = await store.put(Readable.from([]));
    assert.deepEqual(empty, { sha256: sha(Buffer.alloc(0)), size: 0 });
    assert.equal((await readAll(await store.open(empty.sha256))).length, 0);
  });

  it('leaves nothing under a content key when the source fails, is too large or is canceled', async () => {
    const before = await listed();
    const part = randomBytes(6 * MiB);
    async function* failing() {
      yield part;
      throw new Error('client went away');
    }
    await rejectsWith(store.put(Readable.from(failing())), 'INTERNAL');
    await rejectsWith(store.put(Readable.from([part, part]), { maxBytes: 8 * MiB }), 'INPUT_TOO_LARGE');
    const ac = new AbortController();
    async function* slow() {
      yield part;
      ac.abort();
      await sleep(50);
      yield part;
    }
    await rejectsWith(store.put(Readable.from(slow()), { signal: ac.signal }), 'JOB_CANCELED');
    // Nothing new is listed, and the multipart uploads were aborted on the spot.
    assert.deepEqual([...(await listed()).keys()].sort(), [...before.keys()].sort());
    const left = await leftovers();
    assert.deepEqual(left.uploads, []);
    await store.sweepPartial(Date.now() + 1000);
    assert.deepEqual(await leftovers(), { objects: [], uploads: [] });
  });

  it('deletes idempotently', async () => {
    const info = await store.put(Buffer.from('to delete'));
    await store.delete(info.sha256);
    await store.delete(info.sha256);
    assert.equal(await store.stat(info.sha256), null);
    await rejectsWith(store.open(info.sha256), 'NOT_FOUND');
    await rejectsWith(store.open('not-a-sha'), 'NOT_FOUND');
    assert.equal(await store.stat('not-a-sha'), null);
  });

  it('deleteIfUnchanged deletes only a blob not written since the bound', async () => {
    const info = await store.put(Buffer.from('sweep me'));
    assert.equal(await store.deleteIfUnchanged(info.sha256, Date.now() - 60_000), false);
    assert.notEqual(await store.stat(info.sha256), null);
    assert.equal(await store.deleteIfUnchanged(info.sha256, Date.now() + 3000), true);
    assert.equal(await store.stat(info.sha256), null);
    assert.equal(await store.deleteIfUnchanged(info.sha256, Date.now() + 3000), false);
  });

  it('a put or putFile of content already stored touches it, so the sweeper keeps it', async () => {
    const data = Buffer.from(`touch ${Date.now()}`);
    const info = await store.put(data);
    const first = (await listed()).get(info.sha256)!;
    // LastModified has whole seconds: let one pass so that a touch is visible.
    await sleep(1100);
    let bound = Date.now();
    assert.deepEqual(await store.put(data), info);
    assert.equal(await store.deleteIfUnchanged(info.sha256, bound), false, 'the touched blob must stay');
    assert.ok((await listed()).get(info.sha256)!.modifiedMs > first.modifiedMs);

    await sleep(1100);
    bound = Date.now();
    const file = path.join(scratch, 'same-content');
    await writeFile(file, data);
    assert.deepEqual(await store.putFile(file), info);
    assert.equal(await store.deleteIfUnchanged(info.sha256, bound), false, 'putFile must touch too');

    // Untouched since the bound: goes. (Dates have whole seconds, rounded up by Swift: 2 s apart.)
    await sleep(2100);
    assert.equal(await store.deleteIfUnchanged(info.sha256, Date.now()), true);
    assert.deepEqual(await leftovers(), { objects: [], uploads: [] });
  });

  it('putFile stores a new file', async () => {
    const data = randomBytes(6 * MiB);
    const file = path.join(scratch, 'new-file');
    await writeFile(file, data);
    const info = await store.putFile(file);
    assert.deepEqual(info, { sha256: sha(data), size: data.length });
    assert.ok((await readAll(await store.open(info.sha256))).equals(data));
    await rejectsWith(store.putFile(file, { maxBytes: MiB }), 'INPUT_TOO_LARGE');
  });

  it('withLocalFile hands out a downloaded copy and removes it afterwards, also on failure', async () => {
    const data = randomBytes(MiB + 7);
    const info = await store.put(data);
    const dir = path.join(scratch, 'work');
    let seen = '';
    const result = await store.withLocalFile(info.sha256, dir, async (file) => {
      seen = file;
      assert.equal(path.dirname(file), dir);
      assert.ok((await readFile(file)).equals(data));
      return 42;
    });
    assert.equal(result, 42);
    assert.equal(existsSync(seen), false);
    await assert.rejects(store.withLocalFile(info.sha256, dir, async () => { throw new Error('processor failed'); }), /processor failed/);
    assert.deepEqual(await readdir(dir), []);
    await rejectsWith(store.withLocalFile('0'.repeat(64), dir, async () => 1), 'NOT_FOUND');
    assert.deepEqual(await readdir(dir), []);
  });

  it('lists every blob across pages, with sizes and dates, and only its own prefix', async () => {
    const blobs = await Promise.all([0, 1, 2, 3, 4].map((i) => store.put(Buffer.from(`list ${i} ${'x'.repeat(i)}`))));
    const other = new S3BlobStore({ ...settings, prefix: 'other/' });
    const foreign = await other.put(Buffer.from('another prefix'));
    const all = await listed();
    for (const b of blobs) {
      assert.equal(all.get(b.sha256)?.size, b.size);
      assert.ok(Math.abs(all.get(b.sha256)!.modifiedMs - Date.now()) < 120_000);
    }
    assert.equal(all.has(foreign.sha256), false);
    const otherList: string[] = [];
    for await (const e of other.list()) otherList.push(e.sha256);
    assert.deepEqual(otherList, [foreign.sha256]);
    await other.close();
  });

  it('presigned URLs download the exact bytes with a plain fetch, and only while intact', async () => {
    const data = randomBytes(300_000);
    const info = await store.put(data);
    const url = await store.presignedUrl!(info.sha256, { fileName: 'résumé.wav', mime: 'audio/wav', expiresSeconds: 60 });
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(data));
    assert.equal(res.headers.get('content-type'), 'audio/wav');
    assert.match(res.headers.get('content-disposition') ?? '', /attachment; .*filename\*=UTF-8''r%C3%A9sum%C3%A9\.wav/);
    const tampered = url.replace(/X-Amz-Signature=([0-9a-f])/, (_m, c: string) => `X-Amz-Signature=${c === '0' ? '1' : '0'}`);
    assert.equal((await fetch(tampered)).status, 403);
    assert.equal(new S3BlobStore({ ...settings, presignDownloads: false }).presignedUrl, undefined);
  });

  it('the server checks signatures: a wrong secret is refused with a clear, non-retryable error', async () => {
    const wrong = new S3BlobStore({ ...settings, secretAccessKey: 'not-the-secret' });
    const err = await rejectsWith(wrong.put(Buffer.from('x')), 'BLOB_STORE_UNAVAILABLE', false);
    assert.match(err.message, /refused the credentials/);
    await rejectsWith(wrong.ping(), 'BLOB_STORE_UNAVAILABLE', false);
    await wrong.close();
  });

  it('ensureBucket creates a missing bucket; ping and freeBytes', async () => {
    const fresh = new S3BlobStore({ ...settings, bucket: `fresh-${Date.now()}` });
    await rejectsWith(fresh.ping(), 'BLOB_STORE_UNAVAILABLE', false);
    await fresh.ensureBucket();
    await fresh.ensureBucket();
    await fresh.ping();
    const info = await fresh.put(Buffer.from('in a fresh bucket'));
    assert.equal((await readAll(await fresh.open(info.sha256))).toString(), 'in a fresh bucket');
    assert.equal(await fresh.freeBytes(), null);
    await fresh.close();
  });

  // Last: it stops and restarts the server.
  it('S3 stopped mid-upload: the put fails with a retryable code, leaves no object, and works after a restart', async () => {
    const part = randomBytes(6 * MiB);
    const whole = Buffer.concat([part, part]);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    async function* source() {
      yield part; // part 1 (5 MiB) is uploaded, 1 MiB waits for more
      await gate;
      yield part;
    }
    const putting = store.put(Readable.from(source())).then(() => null, (e: unknown) => e);

    // Wait until the multipart upload holds its first part, then take the server away.
    let uploadId: string | undefined;
    let key: string | undefined;
    for (let i = 0; i < 300 && !uploadId; i++) {
      const u = (await raw.send(new ListMultipartUploadsCommand({ Bucket: settings.bucket, Prefix: store.keys.tmp }))).Uploads?.[0];
      if (u) {
        const parts = await raw.send(new ListPartsCommand({ Bucket: settings.bucket, Key: u.Key, UploadId: u.UploadId }));
        if ((parts.Parts ?? []).length > 0) ({ UploadId: uploadId, Key: key } = u);
      }
      if (!uploadId) await sleep(100);
    }
    assert.ok(uploadId && key, 'the first part was never uploaded');
    await s3!.stop();
    release();
    const err = await putting;
    assert.ok(err instanceof MediaflowError, `expected a MediaflowError, got ${String(err)}`);
    assert.equal(err.code, 'BLOB_STORE_UNAVAILABLE', err.message);
    assert.equal(err.retryable, true);
    await rejectsWith(store.ping(), 'BLOB_STORE_UNAVAILABLE', true);

    await s3!.start();
    assert.equal(await store.stat(sha(whole)), null, 'no partial object under the content key');
    assert.equal((await listed()).has(sha(whole)), false);
    // The abort could not reach the stopped server: the sweeper finishes the job.
    assert.ok((await store.sweepPartial(Date.now() + 1000)) >= 1);
    assert.deepEqual(await leftovers(), { objects: [], uploads: [] });
    const info = await store.put(Readable.from([part, part]));
    assert.equal(info.sha256, sha(whole));
    assert.ok((await readAll(await store.open(info.sha256))).equals(whole));
  });
});
