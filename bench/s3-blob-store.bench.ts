// Blob store throughput and memory: the S3 adapter (on the local Swift s3api server of
// scripts/s3-server.sh) beside the filesystem adapter, same input, same run. Each store runs in
// its own child process so that peak RSS is its own.
//   npx tsx bench/s3-blob-store.bench.ts [MiB]      (default 256)
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { FsBlobStore } from '../src/adapters/fs/fs.blob-store.js';
import { S3BlobStore } from '../src/adapters/s3/s3.blob-store.js';
import { startS3ForTests } from '../test/conformance/backend.s3.js';
import { writeResultsSection } from './results-file.js';

const MiB = 1024 * 1024;
const HERE = fileURLToPath(import.meta.url);

interface Figures { putMBs: number; readMBs: number; peakRssGrowthMiB: number }

/** `mib` MiB in fresh 1 MiB chunks, as a network upload delivers them: never all in memory. */
function source(mib: number): Readable {
  const base = randomBytes(MiB);
  let i = 0;
  return new Readable({
    read() {
      if (i === mib) return void this.push(null);
      const chunk = Buffer.from(base);
      chunk.writeUInt32BE(i++, 0);
      this.push(chunk);
    },
  });
}

async function child(kind: 'fs' | 's3', mib: number): Promise<Figures> {
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-bench-blobs-'));
  const store = kind === 'fs'
    ? await new FsBlobStore(scratch).init()
    : new S3BlobStore(JSON.parse(process.env.BENCH_S3!));
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
  let t = performance.now();
  const info = await store.put(source(mib));
  const putS = (performance.now() - t) / 1000;
  t = performance.now();
  let n = 0;
  for await (const c of await store.open(info.sha256)) n += (c as Buffer).length;
  const readS = (performance.now() - t) / 1000;
  clearInterval(sampler);
  if (n !== mib * MiB) throw new Error(`read ${n} bytes of ${mib * MiB}`);
  await store.delete(info.sha256);
  await (store as S3BlobStore).close?.();
  await rm(scratch, { recursive: true, force: true });
  return { putMBs: (mib * MiB) / 1e6 / putS, readMBs: (mib * MiB) / 1e6 / readS, peakRssGrowthMiB: (peak - baseline) / MiB };
}

function runChild(kind: 'fs' | 's3', mib: number, env: NodeJS.ProcessEnv): Promise<Figures> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', HERE, '--child', kind, String(mib)], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').pop()!) as Figures) : reject(new Error(`${kind} child exited ${code}`))));
  });
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(await child(process.argv[3] as 'fs' | 's3', Number(process.argv[4]))));
} else {
  const mib = Number(process.argv[2] ?? 256);
  const s3 = await startS3ForTests('bench');
  if (!s3) throw new Error('no S3 server: python3-swift cannot be installed here');
  const env = { ...process.env, BENCH_S3: JSON.stringify({ ...s3, presignDownloads: false }) };
  const load = os.loadavg()[0]!.toFixed(1);
  try {
    const fsFig = await runChild('fs', mib, env);
    const s3Fig = await runChild('s3', mib, env);
    const row = (name: string, f: Figures) => `| ${name} | ${f.putMBs.toFixed(0)} | ${f.readMBs.toFixed(0)} | ${f.peakRssGrowthMiB.toFixed(0)} |`;
    const swift = execFileSync('/usr/bin/python3', ['-c', 'import swift; print(swift.__version__)'], { encoding: 'utf8' }).trim();
    const section = `## s3-blob-store

Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.split(' ').slice(0, 2).join(' ')}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average at start ${load}. Run: \`npx tsx bench/s3-blob-store.bench.ts ${mib}\` (${new Date().toISOString().slice(0, 10)}).

One ${mib} MiB blob streamed in 1 MiB chunks through \`put\` (hashing, temporary key or file, publish), then read back whole through \`open\`. S3: OpenStack Swift ${swift} with s3api on the same machine (scripts/s3-server.sh), 8 MiB parts, 4 in flight. Peak RSS growth is the store's process over its baseline while both ran: it shows that an upload is never held whole in memory.

| store | put MB/s | read MB/s | peak RSS growth MiB |
|---|---|---|---|
${row('filesystem', fsFig)}
${row('S3 (Swift s3api)', s3Fig)}

Ratios S3 / filesystem: put ${(s3Fig.putMBs / fsFig.putMBs).toFixed(2)}×, read ${(s3Fig.readMBs / fsFig.readMBs).toFixed(2)}×. The S3 put includes the server-side copy from the temporary key to the content key (Swift copies the bytes).
`;
    writeResultsSection('s3-blob-store', section);
    console.log(section);
  } finally {
    await s3.dispose();
  }
}
