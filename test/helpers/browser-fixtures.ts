import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { JobOutput, StoredInput } from '../../src/core/job.types.js';
import type { Lease } from '../../src/core/ports/queue.port.js';
import type { Runtime } from '../../src/runtime.js';

/**
 * Jobs and media for the web UI's result-view tests. A processor whose engine is slow (Demucs) or
 * needs the outside world (yt-dlp, a live HLS stream) gets its job written through the real job
 * store, queue and blob store, exactly as a worker would: created, leased, outputs stored, completed.
 * Every event the page sees comes from the server as it would in production.
 */

const run = promisify(execFile);
const WORKER = 'ui-test-worker';

export interface FileSpec {
  name: string;
  mime: string;
  bytes: Buffer;
}

const leases = new Map<string, Lease>();
function leaseOf(id: string): Lease {
  const l = leases.get(id);
  if (!l) throw new Error(`job ${id} was not leased here`);
  return l;
}

/** Creates a job and leases it (status `running`), as a worker taking it would. */
export async function startStagedJob(rt: Runtime, opts: { processor: string; params?: Record<string, unknown>; input: FileSpec | { url: string } }): Promise<string> {
  let input: StoredInput;
  if ('url' in opts.input) input = { kind: 'url', url: opts.input.url };
  else {
    const blob = await rt.blobs.put(opts.input.bytes);
    input = { kind: 'file', sha256: blob.sha256, size: blob.size, name: opts.input.name, mime: opts.input.mime };
  }
  const id = randomUUID();
  const created = await rt.store.create({
    id, processor: opts.processor, processorVersion: '1', params: opts.params ?? {}, input, priority: 0, maxAttempts: 1,
    dedupKey: null, idempotencyKey: null, requestFingerprint: null, meta: {}, webhook: null, upstream: null,
  });
  if (!created.created) throw new Error('job not created');
  await rt.queue.enqueue(created.job);
  const leased = await rt.queue.lease({ workerId: WORKER, limits: { [opts.processor]: 1 }, max: 1, busy: 0, leaseMs: 10 * 60_000 });
  if (leased[0]?.job.id !== id) throw new Error(`could not lease the staged job (got ${leased.map((l) => l.job.id).join(',') || 'none'})`);
  leases.set(id, leased[0].lease);
  return id;
}

/** Stores an output of a running job (visible to clients at once, with an `output` event). */
export async function putOutput(rt: Runtime, id: string, file: FileSpec): Promise<JobOutput> {
  const blob = await rt.blobs.put(file.bytes);
  const out: JobOutput = { name: file.name, size: blob.size, mime: file.mime, sha256: blob.sha256 };
  if (!(await rt.queue.output(leaseOf(id), out))) throw new Error('output was not applied');
  return out;
}

/** Reports progress of a running staged job. */
export async function setProgress(rt: Runtime, id: string, progress: number, stage: string | null): Promise<void> {
  if (!(await rt.queue.progress(leaseOf(id), progress, stage))) throw new Error('progress was not applied');
}

export async function completeStagedJob(rt: Runtime, id: string, result: unknown): Promise<void> {
  const r = await rt.queue.complete(leaseOf(id), result);
  if (!r.applied) throw new Error('complete was not applied');
}

/** A finished job in one call. */
export async function stagedJob(rt: Runtime, opts: { processor: string; params?: Record<string, unknown>; input: FileSpec | { url: string }; outputs: FileSpec[]; result: unknown }): Promise<string> {
  const id = await startStagedJob(rt, opts);
  for (const o of opts.outputs) await putOutput(rt, id, o);
  await completeStagedJob(rt, id, opts.result);
  return id;
}

/** A stereo 44.1 kHz 16-bit WAV of a sine tone whose peak is `amplitude` (SoX). */
export async function toneWav(dir: string, name: string, opts: { freq: number; amplitude: number; seconds: number }): Promise<FileSpec> {
  const file = path.join(dir, name);
  await run('sox', ['-n', '-r', '44100', '-c', '2', '-b', '16', file, 'synth', String(opts.seconds), 'sine', String(opts.freq), 'vol', String(opts.amplitude)]);
  return { name, mime: 'audio/wav', bytes: await readFile(file) };
}

/** A short H.264 MP4 (ffmpeg's test pattern with a tone), `seconds` long, as a recording fragment would be. */
export async function testVideo(dir: string, name: string, opts: { seconds: number; width?: number; height?: number; start?: number }): Promise<FileSpec> {
  const file = path.join(dir, name);
  const w = opts.width ?? 160, hgt = opts.height ?? 120;
  await run('ffmpeg', ['-v', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${w}x${hgt}:rate=25:duration=${opts.seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=600:duration=${opts.seconds}`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-shortest', '-movflags', '+faststart', file]);
  return { name, mime: 'video/mp4', bytes: await readFile(file) };
}
