import { parentPort, workerData } from 'node:worker_threads';
import { createRuntime, type RuntimeSpec } from './runtime.types.js';

/**
 * A worker thread that hosts one SR engine. Inference calls are synchronous inside both engines
 * (ONNX Runtime's Node binding and tfjs-wasm), so they run here, away from the event loop of the
 * worker process that heartbeats leases and reports progress.
 *
 * Protocol: → `{ id, tile, h, w }`, ← `{ id, out }` or `{ id, error }`; on start ← `{ ready, scale }`
 * or `{ fatal }`.
 */
export interface TileRequest { id: number; tile: Float32Array; h: number; w: number }
export type TileReply = { id: number; out: Float32Array } | { id: number; error: string };
export type WorkerHello = { ready: true; scale: number } | { fatal: string; code?: string };

const port = parentPort!;
try {
  const runtime = await createRuntime(workerData as RuntimeSpec);
  port.on('message', async (req: TileRequest) => {
    try {
      const out = await runtime.run(req.tile, req.h, req.w);
      port.postMessage({ id: req.id, out } satisfies TileReply, [out.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) } satisfies TileReply);
    }
  });
  port.postMessage({ ready: true, scale: runtime.scale } satisfies WorkerHello);
} catch (err) {
  port.postMessage({ fatal: String((err as Error)?.message ?? err), code: (err as { code?: string })?.code } satisfies WorkerHello);
}
