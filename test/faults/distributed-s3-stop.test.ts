import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../src/adapters/s3/s3.blob-store.js';
import { clusterForTest, clusterUnavailable } from '../helpers/cluster.js';
import { clusterSql, outputBytes, sleepJob, submitJob, waitStatus } from '../helpers/cluster-jobs.js';
import { until } from '../helpers/server.js';

const skip = await clusterUnavailable();
const BYTES = 30_000_000;

/**
 * The S3 server stopped while a worker streams a 30 MB output into it. The attempt fails
 * retryably (BLOB_STORE_UNAVAILABLE, the attempt spent), the job runs again once S3 is back and
 * succeeds with the whole output; the bucket holds no piece of the broken upload once the sweep ran.
 */
test('S3 stopped mid-upload: the attempt fails BLOB_STORE_UNAVAILABLE, the retry succeeds, nothing partial stays', { skip: skip ?? false, timeout: 180_000 }, async (t) => {
  const cluster = await clusterForTest(t);
  if (!cluster) return;
  const sql = clusterSql(cluster.postgresUrl);
  const { s3 } = cluster;
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    const api = await cluster.api();
    await cluster.worker({ MEDIAFLOW_WORKERS_POLL_MS: '50' });
    // The retry sleeps long before its upload, so that it starts well after S3 is back, however
    // slowly the S3 server restarts on a loaded machine.
    const id = await submitJob(api.url, sleepJob('big', { ms: 2000, retry_ms: 25_000, bytes: BYTES }));
    // Mid-upload: the output's multipart upload has begun.
    await until(async () => ((await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }))).Uploads?.length ?? 0) > 0, 90_000, 100);
    await s3.stop();

    const failed = await until(async () => {
      const rows = await sql<Array<{ data: { type: string; status?: string; attempts?: number; error?: { code: string; retryable?: boolean } } }>>`
        SELECT data FROM events WHERE job_id = ${id} ORDER BY id`;
      return rows.map((r) => r.data).find((e) => e.type === 'status' && e.status === 'queued' && e.error) ?? null;
    }, 90_000, 100);
    assert.equal(failed.error!.code, 'BLOB_STORE_UNAVAILABLE', JSON.stringify(failed.error));
    assert.equal(failed.attempts, 1, 'the failed attempt is spent');
    await s3.start();

    const job = await waitStatus(api.url, id, ['succeeded'], 90_000);
    assert.equal(job.attempts, 2);
    const bytes = await outputBytes(api.url, job, 'data.bin');
    assert.equal(bytes.length, BYTES);
    const sha = createHash('sha256').update(bytes).digest('hex');
    assert.equal(job.outputs[0].sha256, sha);

    // The sweep removes what the broken upload left (its multipart upload, its temporary object)...
    const blobs = new S3BlobStore({ endpoint: s3.endpoint, region: s3.region, bucket: s3.bucket, accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey, forcePathStyle: true });
    try {
      await blobs.sweepPartial(Date.now());
    } finally {
      await blobs.close();
    }
    // ...and the bucket then holds the finished output alone, whole.
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: s3.bucket }));
    assert.deepEqual(uploads.Uploads ?? [], [], 'no multipart upload left');
    const objects = (await client.send(new ListObjectsV2Command({ Bucket: s3.bucket }))).Contents ?? [];
    assert.deepEqual(objects.map((o) => [o.Key!.split('/').pop(), o.Size]), [[sha, BYTES]]);
  } finally {
    client.destroy();
    await sql.end({ timeout: 1 });
    await cluster.destroy();
  }
});
