import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import sharp from 'sharp';
import postgres from 'postgres';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { clusterUnavailable, startCluster, type ApiNode, type Cluster, type Node } from '../helpers/cluster.js';
import { json, submit, tempDir, until, upload } from '../helpers/server.js';
import { makeSong, readAudio, RATE } from '../helpers/audio-fixtures.js';
import { renderText } from '../helpers/text-images.js';
import { patternBytes, sha256, startTestServer, type TestServer } from '../helpers/http-server.js';

/*
 * One installation on this machine, as it would run on several: two API nodes (`serve --no-workers`)
 * on two ports and two worker nodes (`mediaflow worker`), each process with a data folder of its
 * own, sharing only PostgreSQL, Redis and S3. Every flow submits on one API node and follows,
 * downloads or changes the job on the other.
 */

const unavailable = await clusterUnavailable();
const URL_IN = { url: 'http://127.0.0.1/' };

// The sweeper runs in the API nodes; it runs every second here so a deleted job's files are seen
// leaving S3. The grace period is kept just above S3's one-second LastModified precision: with 0, a
// sweep landing between an upload's put and the job record that references it (a few ms) would
// remove a file a job is about to use — the window the grace period exists to cover.
const API_ENV = { MEDIAFLOW_BLOBS_GRACE_MS: '2000', MEDIAFLOW_BLOBS_SWEEP_MS: '1000' };

type SseEvent = { event: string; data: any };

/** Reads a job's SSE stream to its end (it closes after `done`). */
async function events(api: ApiNode, id: string): Promise<SseEvent[]> {
  const res = await fetch(`${api.url}/v1/jobs/${id}/events`, { headers: { accept: 'text/event-stream' } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type')?.split(';')[0], 'text/event-stream');
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.includes('data:')).map((b) => ({
    event: /event: (\w+)/.exec(b)?.[1] ?? 'message',
    data: JSON.parse(/data: (.*)/.exec(b)![1]!),
  }));
}

const getJob = async (api: ApiNode, id: string) => json(await fetch(`${api.url}/v1/jobs/${id}`));

function untilStatus(api: ApiNode, id: string, status: string | string[], timeoutMs = 60_000, everyMs = 100) {
  const want = Array.isArray(status) ? status : [status];
  return until(async () => { const j = await getJob(api, id); return want.includes(j.status) && j; }, timeoutMs, everyMs);
}

function form(field: string, bytes: Buffer, name: string) {
  const f = new FormData();
  f.set(field, new Blob([bytes]), name);
  return f;
}

async function workerList(api: ApiNode): Promise<Array<{ id: string; pid: number; processors: string[]; running: string[] }>> {
  return (await json(await fetch(`${api.url}/v1/workers`))).workers;
}

describe('distributed mode: two API nodes and two worker nodes sharing PostgreSQL, Redis and S3', { skip: unavailable ?? false }, () => {
  let cluster: Cluster;
  let a: ApiNode;
  let b: ApiNode;
  let w1: Node;
  let w2: Node;
  let dir: string;

  before(async () => {
    cluster = await startCluster();
    dir = tempDir();
    // The first node migrates; the others then find the schema in place.
    a = await cluster.api(API_ENV);
    [b, w1, w2] = await Promise.all([cluster.api(API_ENV), cluster.worker(), cluster.worker()]);
  });
  after(async () => {
    await cluster?.destroy();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('/ready on each API node names postgres, redis and s3; /v1/workers on either lists both worker nodes', async () => {
    for (const api of [a, b]) {
      const res = await fetch(`${api.url}/ready`);
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      for (const service of ['postgres', 'redis', 's3']) assert.equal(body.checks[service]?.ok, true, `${service}: ${JSON.stringify(body.checks[service])}`);
      const workers = await until(async () => { const w = await workerList(api); return w.length >= 2 && w; }, 30_000);
      assert.deepEqual(workers.map((w) => w.pid).sort(), [w1.proc.pid, w2.proc.pid].sort());
      for (const w of workers) for (const p of ['separate', 'upscale', 'ocr', 'sleep', 'checksum']) assert.ok(w.processors.includes(p), `${w.pid} runs ${p}`);
    }
    assert.notEqual(a.data, b.data);
  });

  describe('the five seed systems\' compat flows, spread over both API nodes', () => {
    test('seed 000: POST /process_song on A answers vocals.wav; the job and both stems are on B', async () => {
      const SECONDS = 5;
      const file = path.join(dir, 'song.flac');
      await makeSong(dir, SECONDS, file, { codecArgs: ['-c:a', 'flac'] });
      const res = await fetch(`${a.url}/process_song`, { method: 'POST', body: form('file', await readFile(file), 'My Song.FLAC') });
      assert.equal(res.status, 200, await res.clone().text());
      assert.equal(res.headers.get('content-type'), 'audio/wav');
      const wav = Buffer.from(await res.arrayBuffer());
      const out = path.join(dir, 'vocals.wav');
      await writeFile(out, wav);
      const vocals = await readAudio(out);
      assert.ok(Math.abs(vocals.left.length - SECONDS * RATE) <= 1, `length ${vocals.left.length}`);
      const job = await getJob(b, res.headers.get('x-mediaflow-job')!);
      assert.equal(job.processor, 'separate');
      assert.equal(job.status, 'succeeded');
      assert.deepEqual(job.outputs.map((o: { name: string }) => o.name).sort(), ['no_vocals.wav', 'vocals.wav']);
      const fromB = await fetch(`${b.url}${job.outputs.find((o: { name: string }) => o.name === 'vocals.wav').url}`);
      assert.equal(fromB.status, 200);
      assert.equal(sha256(Buffer.from(await fromB.arrayBuffer())), sha256(wav), 'B serves the bytes A answered');
    });

    test('seed 001: upscale submitted on A, polled on B to SUCCESS, /processed/<name> from B; the name is then "already processed" on B', async () => {
      const png = await sharp({ create: { width: 48, height: 32, channels: 3, background: { r: 200, g: 40, b: 90 } } })
        .composite([{ input: Buffer.from('<svg width="48" height="32"><circle cx="24" cy="16" r="10" fill="white"/></svg>') }]).png().toBuffer();
      const name = `dist-${Date.now()}.png`;
      const res = await fetch(`${a.url}/upscale`, { method: 'POST', body: form('image', png, name) });
      assert.equal(res.status, 202);
      const body = await json(res);
      assert.equal(body.status, 'PENDING');
      const final = await until(async () => {
        const t = await json(await fetch(`${b.url}${body.status_url}`));
        return ['SUCCESS', 'FAILURE'].includes(t.status) && t;
      }, 120_000, 250);
      assert.equal(final.status, 'SUCCESS', JSON.stringify(final));
      assert.equal(final.result.url, `/processed/${name}`);
      const img = await fetch(`${b.url}${final.result.url}`);
      assert.equal(img.status, 200);
      assert.equal(img.headers.get('content-type'), 'image/png');
      const meta = await sharp(Buffer.from(await img.arrayBuffer())).metadata();
      assert.deepEqual([meta.width, meta.height], [96, 64]);
      const done = await fetch(`${b.url}/upscale`, { method: 'POST', body: form('image', png, name) });
      assert.equal(done.status, 200);
      assert.match((await json(done)).message, /already processed/);
      assert.equal((await fetch(`${a.url}/tasks/00000000-0000-0000-0000-000000000000`)).status, 404);
    });

    test('seed 002: POST /ocr on B answers the text (run by a worker node); the job is in /v1/jobs on A', async () => {
      const file = await renderText(dir, 'hello.png', 'Compatible routes still answer', { pointsize: 40 });
      const res = await fetch(`${b.url}/ocr`, { method: 'POST', body: form('file', await readFile(file), 'hello.png') });
      const body = await json(res);
      assert.equal(res.status, 200, JSON.stringify(body));
      assert.match(body.text, /Compatible routes still answer/);
      const job = await getJob(a, body.job_id);
      assert.equal(job.processor, 'ocr');
      assert.equal(job.meta.source, 'compat:seed002');
    });

    test('seed 003: /predict on A; /upload on A, /status/<filename> on B to completed; the image_results view in PostgreSQL follows', async () => {
      const W = 320;
      const H = 240;
      const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#f0f0e8"/>
        <g transform="translate(${W / 2} ${H / 2}) rotate(-30)"><rect x="-80" y="-25" width="160" height="50" fill="#203060"/></g></svg>`;
      const jpeg = await sharp(Buffer.from(svg)).jpeg({ quality: 95 }).toBuffer();
      const predict = await fetch(`${a.url}/predict`, { method: 'POST', body: form('file', jpeg, 'image.jpg') });
      const p = await json(predict);
      assert.equal(predict.status, 200, JSON.stringify(p).slice(0, 300));
      assert.equal(p.status, 'success');
      assert.equal(p.count, 1);
      assert.deepEqual(p.masks[0].mask_rle.size, [H, W]);
      const up = await json(await fetch(`${a.url}/upload`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ image: jpeg.toString('base64') }) }));
      assert.equal(up.message, 'success upload image');
      const status = await until(async () => {
        const s = await json(await fetch(`${b.url}/status/${up.filename}`));
        return s.status !== 'processing' && s;
      }, 120_000, 200);
      assert.equal(status.status, 'completed', JSON.stringify(status));
      assert.ok(Math.abs(status.degree - 30) <= 1, `degree ${status.degree}`);
      const sql = postgres(cluster.postgresUrl, { max: 1, onnotice: () => {} });
      try {
        const rows = await sql`SELECT filename, status, degree FROM image_results WHERE filename = ${up.filename}`;
        assert.equal(rows.length, 1);
        assert.equal(rows[0]!.status, 'completed');
        assert.ok(Math.abs(Number(rows[0]!.degree) - 30) <= 1);
      } finally {
        await sql.end();
      }
    });

    test('seed 004: POST /download/file on A fetches from a local server; /tasks and the file on B', async () => {
      const origin: TestServer = await startTestServer();
      try {
        const bytes = patternBytes(300_000, 11);
        origin.route('/files/clip.bin', { kind: 'file', body: bytes, contentType: 'application/octet-stream' });
        const r = await json(await fetch(`${a.url}/download/file`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url: `${origin.origin}/files/clip.bin` }) }));
        assert.equal(typeof r.task_id, 'string', JSON.stringify(r));
        const t = await until(async () => {
          const x = await json(await fetch(`${b.url}/tasks/${r.task_id}`));
          return ['SUCCESS', 'FAILURE', 'REVOKED'].includes(x.status) && x;
        }, 60_000, 100);
        assert.equal(t.status, 'SUCCESS', JSON.stringify(t));
        assert.equal(t.files.length, 1);
        assert.equal(t.files[0].size, bytes.length);
        assert.equal(sha256(Buffer.from(await (await fetch(`${b.url}${t.files[0].url}`)).arrayBuffer())), sha256(bytes));
      } finally {
        await origin.close();
      }
    });
  });

  describe('/v1 across nodes', () => {
    test('a multipart upload on A: B\'s event stream sees it to done; B serves the output with ETag and Range', async () => {
      const bytes = Buffer.from(`distributed upload ${Date.now()} `.repeat(50));
      const res = await upload(a.url, 'checksum', bytes, 'in.bin');
      assert.equal(res.status, 202);
      const job = await json(res);
      const seen = await events(b, job.id);
      assert.equal(seen[0]!.event, 'status');
      assert.equal(seen.at(-1)!.event, 'done');
      assert.equal(seen.at(-1)!.data.status, 'succeeded');
      assert.ok(seen.some((e) => e.event === 'output' && e.data.output.name === 'copy.bin'), JSON.stringify(seen));
      const done = await getJob(b, job.id);
      assert.equal(done.result.sha256, sha256(bytes));
      const url = `${b.url}${done.outputs[0].url}`;
      const full = await fetch(url);
      assert.equal(full.status, 200);
      assert.deepEqual(Buffer.from(await full.arrayBuffer()), bytes);
      const etag = full.headers.get('etag')!;
      assert.equal(etag, `"${sha256(bytes)}"`);
      const part = await fetch(url, { headers: { range: 'bytes=10-19' } });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get('content-range'), `bytes 10-19/${bytes.length}`);
      assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(10, 20));
      assert.equal((await fetch(url, { headers: { 'if-none-match': etag } })).status, 304);
      // The same content submitted on B is the same job (dedup decided in PostgreSQL).
      const again = await upload(b.url, 'checksum', bytes, 'other-name.bin');
      assert.equal((await json(again)).id, job.id);
      assert.equal(again.headers.get('x-mediaflow-existing-job'), 'dedup');
    });

    test('with s3.presignDownloads a node redirects output downloads to S3, which serves the bytes and ranges', async () => {
      const c = await cluster.api({ ...API_ENV, MEDIAFLOW_S3_PRESIGN_DOWNLOADS: '1' });
      try {
        const bytes = patternBytes(70_000, 5);
        const job = await json(await upload(a.url, 'checksum', bytes, 'p.bin', {}, { prefer: 'wait=30' }));
        assert.equal(job.status, 'succeeded', JSON.stringify(job));
        const url = `${c.url}${job.outputs[0].url}`;
        const redirect = await fetch(url, { redirect: 'manual' });
        assert.equal(redirect.status, 302);
        const location = redirect.headers.get('location')!;
        assert.ok(location.startsWith(`${cluster.s3.endpoint}/`), location);
        assert.match(location, /X-Amz-Signature=/);
        const full = await fetch(url);
        assert.equal(full.status, 200);
        assert.equal(full.headers.get('content-type'), 'application/octet-stream');
        assert.deepEqual(Buffer.from(await full.arrayBuffer()), bytes);
        const part = await fetch(url, { headers: { range: 'bytes=100-199' } });
        assert.equal(part.status, 206);
        assert.deepEqual(Buffer.from(await part.arrayBuffer()), bytes.subarray(100, 200));
        const attachment = await fetch(`${url}?download=true`);
        assert.match(attachment.headers.get('content-disposition') ?? '', /^attachment;.*copy\.bin/);
        await attachment.arrayBuffer();
        // A node without the setting streams the same output itself.
        assert.equal((await fetch(`${b.url}${job.outputs[0].url}`, { redirect: 'manual' })).status, 200);
      } finally {
        await c.stop();
      }
    });

    test('a job submitted on A: B\'s event stream sees its progress rise to 1, then done', async () => {
      const job = await json(await submit(a.url, { processor: 'sleep', params: { ms: 1500 }, input: URL_IN }));
      const seen = await events(b, job.id);
      assert.equal(seen.at(-1)!.event, 'done');
      assert.equal(seen.at(-1)!.data.status, 'succeeded');
      const progress = seen.filter((e) => e.event === 'progress').map((e) => e.data.progress as number);
      assert.ok(progress.length >= 2, `progress events: ${progress}`);
      assert.deepEqual(progress, [...progress].sort((x, y) => x - y), 'progress never goes back');
      assert.equal(progress.at(-1), 1);
    });

    test('Prefer: wait on B returns the job finished by a worker node; A serves its output; an Idempotency-Key holds across nodes', async () => {
      const res = await submit(b.url, { processor: 'sleep', params: { ms: 200, output: true }, input: { url: `http://127.0.0.1/${Date.now()}` } }, { prefer: 'wait=30' });
      const job = await json(res);
      assert.equal(res.status, 200, JSON.stringify(job));
      assert.equal(job.status, 'succeeded');
      assert.deepEqual(job.result, { slept: 200 });
      const out = await fetch(`${a.url}${job.outputs[0].url}`);
      assert.equal(await out.text(), 'hello\n');
      const key = `dist-${Date.now()}`;
      const first = await json(await submit(a.url, { processor: 'noop', params: { value: key }, input: URL_IN }, { 'idempotency-key': key }));
      const second = await json(await submit(b.url, { processor: 'noop', params: { value: key }, input: URL_IN }, { 'idempotency-key': key }));
      assert.equal(second.id, first.id);
    });

    test('list and filters on B show jobs submitted on A, page by page', async () => {
      const tag = `list-${Date.now()}`;
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) ids.push((await json(await submit(a.url, { processor: 'noop', params: { value: `${tag}-${i}` }, input: URL_IN }))).id);
      for (const id of ids) await untilStatus(b, id, 'succeeded');
      const listed = await json(await fetch(`${b.url}/v1/jobs?processor=noop&status=succeeded&limit=500`));
      for (const id of ids) assert.ok(listed.items.some((j: { id: string }) => j.id === id), id);
      assert.ok(listed.items.every((j: { processor: string; status: string }) => j.processor === 'noop' && j.status === 'succeeded'));
      const none = await json(await fetch(`${b.url}/v1/jobs?processor=noop&status=failed`));
      assert.ok(!none.items.some((j: { id: string }) => ids.includes(j.id)));
      // Cursor paging across the two nodes: one page on B, the next on A.
      const page1 = await json(await fetch(`${b.url}/v1/jobs?processor=noop&limit=2`));
      assert.equal(page1.items.length, 2);
      assert.ok(page1.nextCursor, JSON.stringify(Object.keys(page1)));
      const page2 = await json(await fetch(`${a.url}/v1/jobs?processor=noop&limit=2&cursor=${encodeURIComponent(page1.nextCursor)}`));
      assert.ok(page2.items.length >= 1);
      for (const j of page2.items) assert.ok(!page1.items.some((k: { id: string }) => k.id === j.id), 'pages do not overlap');
    });

    test('a job canceled on B is retried on A and runs to success', async () => {
      const job = await json(await submit(a.url, { processor: 'sleep', params: { ms: 3000 }, input: { url: `http://127.0.0.1/retry-${Date.now()}` } }));
      await untilStatus(b, job.id, 'running', 30_000, 50);
      const c = await fetch(`${b.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
      assert.equal(c.status, 200);
      assert.equal((await untilStatus(a, job.id, 'canceled', 10_000, 50)).error.code, 'JOB_CANCELED');
      const r = await fetch(`${a.url}/v1/jobs/${job.id}/retry`, { method: 'POST' });
      assert.equal(r.status, 200);
      assert.ok(['queued', 'running'].includes((await json(r)).status));
      const done = await untilStatus(b, job.id, 'succeeded', 60_000);
      assert.deepEqual(done.result, { slept: 3000 });
    });

    test('delete on B: the job is gone on A, and its files leave S3 once swept', async () => {
      const bytes = Buffer.from(`to delete ${Date.now()} ${Math.random()}`);
      const job = await json(await upload(a.url, 'checksum', bytes, 'd.bin', {}, { prefer: 'wait=30' }));
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      const sha = createHash('sha256').update(bytes).digest('hex');
      const s3 = new S3Client({
        endpoint: cluster.s3.endpoint, region: cluster.s3.region, forcePathStyle: true,
        credentials: { accessKeyId: cluster.s3.accessKeyId, secretAccessKey: cluster.s3.secretAccessKey },
      });
      const keysOf = async () => {
        const keys: string[] = [];
        let token: string | undefined;
        do {
          const page = await s3.send(new ListObjectsV2Command({ Bucket: cluster.s3.bucket, ContinuationToken: token }));
          for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
          token = page.NextContinuationToken;
        } while (token);
        return keys.filter((k) => k.endsWith(sha));
      };
      try {
        assert.equal((await keysOf()).length, 1, 'the input (and its identical copy) is one object in S3');
        assert.equal((await fetch(`${b.url}/v1/jobs/${job.id}`, { method: 'DELETE' })).status, 204);
        assert.equal((await fetch(`${a.url}/v1/jobs/${job.id}`)).status, 404);
        assert.equal((await fetch(`${b.url}/v1/jobs/${job.id}`)).status, 404);
        await until(async () => (await keysOf()).length === 0, 30_000, 250);
      } finally {
        s3.destroy();
      }
    });
  });

  test('a cancel sent to A stops the job a worker node runs for B within 2 s', async () => {
    const job = await json(await submit(b.url, { processor: 'sleep', params: { ms: 50_000 }, input: { url: `http://127.0.0.1/cancel-${Date.now()}` } }));
    await untilStatus(b, job.id, 'running', 30_000, 50);
    const runner = await until(async () => (await workerList(b)).find((w) => w.running.includes(job.id)), 15_000, 100);
    const node = [w1, w2].find((w) => w.proc.pid === runner.pid)!;
    assert.ok(node, 'the job runs on one of the two worker nodes');
    const t0 = Date.now();
    const c = await fetch(`${a.url}/v1/jobs/${job.id}/cancel`, { method: 'POST' });
    assert.equal(c.status, 200);
    const canceled = await untilStatus(b, job.id, 'canceled', 10_000, 20);
    assert.ok(Date.now() - t0 < 2000, `canceled ${Date.now() - t0} ms after the cancel`);
    assert.equal(canceled.error.code, 'JOB_CANCELED');
    // The worker itself stopped the attempt (not a record changed over its head).
    await until(async () => node.output().split('\n').some((l) => l.includes('job canceled') && l.includes(job.id)), 10_000);
    await until(async () => !(await workerList(a)).some((w) => w.running.includes(job.id)), 15_000, 200);
  });

  test('`worker --only sleep` and `--only checksum`: each node takes only its own processors', async () => {
    await Promise.all([w1.stop(), w2.stop()]);
    // A worker reports what it runs with each heartbeat: every second here, so the listing shows a running job.
    const beat = { MEDIAFLOW_WORKERS_HEARTBEAT_MS: '1000' };
    const [sleeper, summer] = await Promise.all([cluster.worker(beat, ['--only', 'sleep']), cluster.worker(beat, ['--only', 'checksum'])]);
    const workers = await until(async () => {
      const w = await workerList(a);
      return w.length === 2 && w;
    }, 30_000, 200);
    const byPid = new Map(workers.map((w) => [w.pid, w]));
    assert.deepEqual(byPid.get(sleeper.proc.pid!)?.processors, ['sleep']);
    assert.deepEqual(byPid.get(summer.proc.pid!)?.processors, ['checksum']);
    assert.deepEqual((await workerList(b)).map((w) => w.pid).sort(), [sleeper.proc.pid, summer.proc.pid].sort());

    const sleeps = await Promise.all([0, 1, 2].map(async (i) => (await json(await submit(i % 2 ? a.url : b.url, { processor: 'sleep', params: { ms: 4000 }, input: { url: `http://127.0.0.1/only-${Date.now()}-${i}` } }))).id as string));
    const sums = await Promise.all([0, 1, 2].map(async (i) => (await json(await upload(i % 2 ? b.url : a.url, 'checksum', Buffer.from(`only ${Date.now()} ${i}`), `${i}.bin`))).id as string));
    // While the sleeps run, the listing shows them on the sleep node, never on the checksum node.
    const running = await until(async () => {
      const list = await workerList(b);
      const s = list.find((w) => w.pid === sleeper.proc.pid);
      return s && s.running.some((id) => sleeps.includes(id)) && list;
    }, 30_000, 50);
    assert.ok(!running.find((w) => w.pid === summer.proc.pid)!.running.some((id) => sleeps.includes(id)));
    for (const id of [...sleeps, ...sums]) await untilStatus(a, id, 'succeeded', 60_000);
    // Each worker logged the jobs it ran: the sleeps on one node, the checksums on the other.
    const ran = (n: Node, id: string) => n.output().split('\n').some((l) => l.includes('job succeeded') && l.includes(id));
    for (const id of sleeps) assert.ok(ran(sleeper, id) && !ran(summer, id), `sleep ${id}`);
    for (const id of sums) assert.ok(ran(summer, id) && !ran(sleeper, id), `checksum ${id}`);
    // A processor no node takes waits queued (and the listing says so) instead of failing.
    const ocr = await json(await upload(b.url, 'ocr', await readFile(await renderText(dir, 'wait.png', 'Nobody runs this', { pointsize: 30 })), 'wait.png'));
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await getJob(a, ocr.id)).status, 'queued');
    const queues = (await json(await fetch(`${a.url}/v1/workers`))).queues;
    assert.equal(queues.ocr.queued, 1);
  });
});
