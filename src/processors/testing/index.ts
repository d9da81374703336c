import { createReadStream } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Type } from 'typebox';
import { defineProcessor } from '../../core/processor.types.js';

/**
 * Processors for tests and benchmarks only (registered when `enableTestProcessors` is on):
 * `noop` measures the queue itself; `sleep` gives a long, cancelable job with progress;
 * `crash` kills its worker process, to prove a crashing job ends `failed` instead of looping.
 */
export const noopProcessor = defineProcessor({
  name: 'noop',
  version: '1',
  title: 'No-op (test)',
  description: 'Does nothing and succeeds. For queue benchmarks and tests.',
  input: { kind: 'url' },
  params: Type.Object({ value: Type.Optional(Type.String()) }, { additionalProperties: false }),
  policy: { concurrency: 64, timeoutMs: 10_000, attempts: 1, backoffMs: 100, resource: 'io' },
  testOnly: true,
  async run(_ctx, _input, params) {
    return { ok: true, value: params.value ?? null };
  },
});

export const sleepProcessor = defineProcessor({
  name: 'sleep',
  version: '1',
  title: 'Sleep (test)',
  description: 'Sleeps for `ms` milliseconds (`retry_ms` on a retry) in 20 steps, reporting progress; stops at once when canceled.',
  input: { kind: 'url' },
  params: Type.Object({
    ms: Type.Integer({ default: 1000, minimum: 0, maximum: 600_000 }),
    retry_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000, description: 'How long later attempts sleep (default: `ms`)' })),
    fail: Type.Boolean({ default: false, description: 'Throw a retryable error at the end' }),
    output: Type.Boolean({ default: false, description: 'Write a small text output halfway through' }),
    scratch: Type.Boolean({ default: false, description: 'Write a file into the scratch folder first' }),
    bytes: Type.Integer({ default: 0, minimum: 0, maximum: 256 * 1024 * 1024, description: 'Write an output `data.bin` of this many random bytes at the end' }),
  }, { additionalProperties: false }),
  policy: { concurrency: 8, timeoutMs: 60_000, attempts: 2, backoffMs: 100, resource: 'io' },
  testOnly: true,
  async run(ctx, _input, params) {
    const steps = 20;
    const ms = ctx.attempt > 1 ? params.retry_ms ?? params.ms : params.ms;
    if (params.scratch) await writeFile(path.join(ctx.tmpdir, 'partial.bin'), randomBytes(4096));
    for (let i = 0; i < steps; i++) {
      if (params.output && i === steps / 2) await ctx.output('hello.txt', Buffer.from('hello\n'), 'text/plain');
      ctx.signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => { clearTimeout(t); reject(ctx.signal.reason); };
        const t = setTimeout(() => { ctx.signal.removeEventListener('abort', onAbort); resolve(); }, ms / steps);
        ctx.signal.addEventListener('abort', onAbort, { once: true });
      });
      ctx.progress((i + 1) / steps, `step ${i + 1}/${steps}`);
      if (i === 0) ctx.log('sleeping');
    }
    if (params.fail) throw new Error('sleep failed on purpose');
    if (params.bytes) await ctx.output('data.bin', Readable.from(randomChunks(params.bytes)), 'application/octet-stream');
    return { slept: ms };
  },
});

function* randomChunks(total: number): Generator<Buffer> {
  for (let left = total; left > 0; left -= 65536) yield randomBytes(Math.min(65536, left));
}

export const crashProcessor = defineProcessor({
  name: 'crash',
  version: '1',
  title: 'Crash (test)',
  description: 'Kills the worker process that runs it.',
  input: { kind: 'url' },
  params: Type.Object({}, { additionalProperties: false }),
  policy: { concurrency: 1, timeoutMs: 10_000, attempts: 3, backoffMs: 50, resource: 'cpu' },
  testOnly: true,
  async run() {
    process.kill(process.pid, 'SIGKILL');
    return {};
  },
});

export const checksumProcessor = defineProcessor({
  name: 'checksum',
  version: '1',
  title: 'Checksum (test)',
  description: 'Reads any uploaded file and returns its sha256, size and name; copies it to the output `copy.bin`.',
  input: { kind: 'file', accept: ['*'] },
  params: Type.Object({}, { additionalProperties: false }),
  policy: { concurrency: 4, timeoutMs: 60_000, attempts: 1, backoffMs: 100, resource: 'io' },
  testOnly: true,
  async run(ctx, input) {
    if (input.kind !== 'file') throw new Error('checksum needs a file');
    const hash = createHash('sha256');
    await pipeline(createReadStream(input.path), hash);
    await ctx.output('copy.bin', input.path, 'application/octet-stream');
    return { sha256: hash.digest('hex'), size: input.size, name: input.name, mime: input.mime };
  },
});
