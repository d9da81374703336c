import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { S3BlobStore } from '../../src/adapters/s3/s3.blob-store.js';

const run = promisify(execFile);
const script = fileURLToPath(new URL('../../scripts/s3-server.sh', import.meta.url));

export interface S3ForTests {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The server's folder (configuration, objects, logs). */
  dir: string;
  /** Stops the server; its objects stay. */
  stop(): Promise<void>;
  /** Starts it again on the same port with the same objects. */
  start(): Promise<void>;
  /** Stops it and removes its folder. */
  dispose(): Promise<void>;
}

/** Why the last startS3ForTests answered null, for the skip message. */
export let s3UnavailableReason = '';

async function script_(args: string[]): Promise<Record<string, string>> {
  // The first start may install python3-swift and memcached (apt-get): allow it minutes.
  const { stdout } = await run('bash', [script, ...args], { timeout: 900_000, maxBuffer: 1 << 20 });
  return Object.fromEntries(stdout.split('\n').filter((l) => l.includes('=')).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

/**
 * Starts a private S3 server (Swift with s3api, which checks signatures) on a free port in a
 * temporary folder, with an empty bucket. Null only when the server's packages cannot be
 * installed here; any other failure throws, so a broken set-up fails the tests instead of
 * skipping them.
 */
export async function startS3ForTests(bucket = 'mediaflow-test'): Promise<S3ForTests | null> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-s3-'));
  let env: Record<string, string>;
  try {
    env = await script_(['start', '--dir', dir]);
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    if ((err as { code?: unknown }).code === 3) {
      s3UnavailableReason = 'python3-swift and memcached (Debian packages) are not installed and could not be installed';
      return null;
    }
    throw err;
  }
  const s3: S3ForTests = {
    endpoint: env.MEDIAFLOW_S3_ENDPOINT!,
    bucket,
    accessKeyId: env.MEDIAFLOW_S3_ACCESS_KEY_ID!,
    secretAccessKey: env.MEDIAFLOW_S3_SECRET_ACCESS_KEY!,
    region: env.MEDIAFLOW_S3_REGION!,
    dir,
    stop: async () => { await script_(['stop', '--dir', dir]); },
    start: async () => { await script_(['start', '--dir', dir]); },
    dispose: async () => {
      await script_(['stop', '--dir', dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
  const store = new S3BlobStore({ ...s3, forcePathStyle: true });
  await store.ensureBucket();
  await store.close();
  return s3;
}
