import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { json, startServer, submit, tempDir, until, upload, type InProcessServer } from '../helpers/server.js';

/**
 * A data folder on a small tmpfs, filled up on purpose: refusals are 507 STORAGE_FULL (never 500),
 * a job that runs out of space fails retryably and succeeds once space is back, and nothing stored
 * before is lost. Needs root (mount); skipped otherwise.
 */
const canMount = process.getuid?.() === 0;
const URL_IN = { url: 'http://127.0.0.1/' };

describe('a full disk', { skip: canMount ? false : 'needs root to mount a small tmpfs' }, () => {
  let mnt: string;
  let s: InProcessServer;
  const filler = () => path.join(mnt, 'filler.bin');
  const fill = (leaveBytes: number) => {
    rmSync(filler(), { force: true });
    const st = statfsSync(mnt);
    const free = st.bavail * st.bsize;
    writeFileSync(filler(), Buffer.alloc(Math.max(0, free - leaveBytes)));
  };
  before(async () => {
    mnt = tempDir('mediaflow-full-');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt]);
    mkdirSync(path.join(mnt, 'data'));
    s = await startServer({ data: path.join(mnt, 'data'), network: { allowPrivate: true } });
  });
  after(async () => {
    await s.close().catch(() => undefined);
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  });

  test('an upload larger than the space left gets 507 and leaves nothing behind; earlier jobs stay readable', async () => {
    const first = await json(await upload(s.url, 'checksum', Buffer.from('kept safe'), 'kept.bin', {}, { prefer: 'wait=30' }));
    assert.equal(first.status, 'succeeded');
    fill(2 * 1024 * 1024);
    const res = await upload(s.url, 'checksum', Buffer.alloc(6 * 1024 * 1024, 7), 'big.bin');
    assert.equal(res.status, 507);
    assert.equal((await json(res)).code, 'STORAGE_FULL');
    assert.equal(await (await fetch(`${s.url}/v1/jobs/${first.id}/input`)).text(), 'kept safe');
    rmSync(filler(), { force: true });
  });

  test('the database itself out of space (SQLITE_FULL) answers 507, not 500', async () => {
    fill(0);
    const codes = new Set<number>();
    for (let i = 0; i < 30; i++) {
      const r = await submit(s.url, { processor: 'sleep', params: { ms: 1000 + i }, input: URL_IN }).catch(() => null);
      if (r) { codes.add(r.status); await r.text(); }
      if (codes.has(507)) break;
    }
    rmSync(filler(), { force: true });
    assert.ok(!codes.has(500), `no 500 among ${[...codes].join(', ')}`);
    assert.ok(codes.has(507), `a 507 among ${[...codes].join(', ')}`);
  });

  test('a job that runs out of space fails retryably, and succeeds once space is back', async () => {
    fill(1024 * 1024);
    const job = await json(await submit(s.url, { processor: 'sleep', params: { ms: 20, bytes: 4 * 1024 * 1024 }, input: URL_IN }));
    const requeued = await until(async () => {
      const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`));
      return j.attempts >= 1 && j.error?.code === 'STORAGE_FULL' ? j : j.status === 'failed' ? j : null;
    }, 30_000, 20);
    assert.equal(requeued.error?.code, 'STORAGE_FULL');
    rmSync(filler(), { force: true });
    const done = await until(async () => { const j = await json(await fetch(`${s.url}/v1/jobs/${job.id}`)); return ['succeeded', 'failed'].includes(j.status) ? j : null; }, 30_000, 50);
    assert.equal(done.status, 'succeeded', JSON.stringify(done.error));
    assert.equal(done.outputs[0].size, 4 * 1024 * 1024);
  });
});
