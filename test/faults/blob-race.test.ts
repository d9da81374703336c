import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { BlobSweeper } from '../../src/core/blob-sweeper.js';
import { json, startServer, upload, type InProcessServer } from '../helpers/server.js';

/**
 * "Submit the same content while the blob sweeper runs", 1,000 times: the sweeper runs without
 * pause with a short grace period, every job is deleted as soon as it ends (so its blobs become
 * collectable), and some rounds wait past the grace period before submitting the same bytes again.
 * No submit may fail, and every succeeded job's input and output must be readable.
 */
const LANES = 10;
const ROUNDS = 100;
const GRACE_MS = 150;

let s: InProcessServer;
before(async () => { s = await startServer({ blobs: { graceMs: GRACE_MS } }); });
after(async () => { await s.close(); });

test('1,000 rounds of submit-while-sweeping lose no blob', async () => {
  let stop = false;
  let sweeps = 0;
  let swept = 0;
  const sweeper = new BlobSweeper({ store: s.rt.store, blobs: s.rt.blobs, graceMs: GRACE_MS });
  const sweeping = (async () => {
    while (!stop) {
      swept += (await sweeper.sweep()).blobs;
      sweeps++;
      await new Promise((r) => setImmediate(r));
    }
  })();
  const problems: string[] = [];
  let succeeded = 0;
  await Promise.all(Array.from({ length: LANES }, async (_, lane) => {
    const bytes = randomBytes(2048 + lane);
    for (let round = 0; round < ROUNDS; round++) {
      const res = await upload(s.url, 'checksum', bytes, `lane${lane}.bin`, {}, { prefer: 'wait=30' });
      const job = await json(res);
      if (res.status !== 200 || job.status !== 'succeeded') {
        problems.push(`lane ${lane} round ${round}: HTTP ${res.status} ${job.status ?? ''} ${JSON.stringify(job.error ?? job.code ?? '')}`);
        continue;
      }
      succeeded++;
      const input = await fetch(`${s.url}/v1/jobs/${job.id}/input`);
      const output = await fetch(`${s.url}${job.outputs[0].url}`);
      const [inBytes, outBytes] = [Buffer.from(await input.arrayBuffer()), Buffer.from(await output.arrayBuffer())];
      if (!inBytes.equals(bytes)) problems.push(`lane ${lane} round ${round}: input unreadable (${input.status})`);
      if (!outBytes.equals(bytes)) problems.push(`lane ${lane} round ${round}: output unreadable (${output.status})`);
      const last = round === ROUNDS - 1;
      if (!last) await fetch(`${s.url}/v1/jobs/${job.id}`, { method: 'DELETE' });
      // Now and then, let the blob age past the grace period so that the sweeper really removes it.
      if (round % 4 === 0) await new Promise((r) => setTimeout(r, GRACE_MS + 50 + Math.random() * 100));
    }
  }));
  stop = true;
  await sweeping;
  assert.deepEqual(problems, []);
  assert.equal(succeeded, LANES * ROUNDS);
  assert.ok(swept > 0, 'the sweeper did remove unreferenced blobs during the run (the race was real)');
  assert.ok(sweeps > 10);
  // The last job of each lane is kept: after more sweeps its blob is still there.
  await sweeper.sweep(Date.now() + 10 * GRACE_MS);
  const page = await json(await fetch(`${s.url}/v1/jobs?limit=100`));
  assert.equal(page.items.length, LANES);
  for (const j of page.items) assert.equal((await fetch(`${s.url}/v1/jobs/${j.id}/input`)).status, 200);
});
