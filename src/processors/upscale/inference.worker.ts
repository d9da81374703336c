import { parentPort, workerData } from 'node:worker_threads';
import { createRuntime } from './runtime.create.js';
import type { RuntimeSpec } from './runtime.types.js';

/**
 * A worker thread that hosts one SR engine. Inference calls are synchronous inside both engines
 * (ONNX Runtime's Node binding and tfjs-wasm), so they run here, away from the event loop of the
 * worker process that heartbeats leases and reports progress.
 *
 * Protocol: → `{ id, tile, h, w }`, ← `{ id, out }` or `{ id, error }`; on start ← `{ ready, scale }`
 * or `{ fatal }`. → `{ close: true }` drops the queued tiles and ends the thread once the tile in
 * progress returns: a thread must never be terminated inside ONNX Runtime's native `run` (the
 * binding then throws a C++ exception nobody catches, which aborts the whole process).
 */
export interface TileRequest { id: number; tile: Float32Array; h: number; w: number }
export type TileReply = { id: number; out: Float32Array } | { id: number; error: string };
export type WorkerHello = { ready: true; scale: number } | { fatal: string; code?: string };
export interface CloseRequest { close: true }

const port = parentPort!;
try {
  const runtime = await createRuntime(workerData as RuntimeSpec);
  const queue: TileRequest[] = [];
  let running = false;
  let closing = false;

  const shutdown = async () => {
    await runtime.dispose().catch(() => undefined);
    process.exit(0); // ends this thread only
  };

  const pump = async () => {
    running = true;
    while (queue.length > 0 && !closing) {
      const req = queue.shift()!;
      try {
        const out = await runtime.run(req.tile, req.h, req.w);
        port.postMessage({ id: req.id, out } satisfies TileReply, [out.buffer as ArrayBuffer]);
      } catch (err) {
        port.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) } satisfies TileReply);
      }
      // Let a close request in before the next tile starts.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    running = false;
    if (closing) await shutdown();
  };

  port.on('message', (msg: TileRequest | CloseRequest) => {
    if ('close' in msg) {
      closing = true;
      queue.length = 0;
      if (!running) void shutdown();
      return;
    }
    queue.push(msg);
    if (!running) void pump();
  });
  port.postMessage({ ready: true, scale: runtime.scale } satisfies WorkerHello);
} catch (err) {
  port.postMessage({ fatal: String((err as Error)?.message ?? err), code: (err as { code?: string })?.code } satisfies WorkerHello);
}
