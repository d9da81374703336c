import { parentPort, workerData } from 'node:worker_threads';
import { HT } from './htdemucs.spec.js';

/**
 * A worker thread that owns this process's one htdemucs ONNX session and runs it on one segment
 * per request. ONNX Runtime's Node binding runs a session synchronously on the calling thread
 * (4–8 s per segment here), so it runs here, away from the event loop that heartbeats job leases,
 * reports progress and hears cancellation; the STFT/iSTFT around it run on that event loop's
 * thread meanwhile (htdemucs.engine.ts), overlapped with the next segment's model run.
 *
 * Protocol: → `{ id, mix, mag }` (the model's two inputs); ← `{ id, z, xt, modelMs }` (its two
 * outputs, in buffers the reply owns) or `{ id, error }`. On start ← `{ ready }` or `{ fatal }`.
 */
export interface WorkerSpec {
  modelPath: string;
  threads: number;
  /** Where the rewritten graph (htdemucs.graph.ts) is kept between processes (the model cache). */
  cacheDir?: string;
  /** The file the session loads: the model with its graph rewritten (set by the engine). */
  sessionPath?: string;
}
export interface SegmentRequest { id: number; mix: Float32Array; mag: Float32Array }
export type SegmentReply = { id: number; z: Float32Array; xt: Float32Array; modelMs: number } | { id: number; error: string };
export type WorkerHello = { ready: true; inputs: string[]; outputs: string[] } | { fatal: string };

const port = parentPort!;
const spec = workerData as WorkerSpec;

/** The graph's tensor names, told apart by rank (the names are export artefacts like `5073`). */
interface Io { wave: string; mag: string; freqOut: string; timeOut: string }

function shapeOf(meta: unknown): readonly (number | string)[] {
  return (meta as { isTensor?: boolean; shape?: readonly (number | string)[] }).shape ?? [];
}

try {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(spec.sessionPath ?? spec.modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: spec.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Measured on one segment of the rewritten graph (bench/RESULTS.md, "separate"): the arena
    // keeps freed blocks for the next tensors (no fresh pages from the kernel each time) and, since
    // the rewrite, peaks at ~0.7 GB for the whole thread; without it glibc's heaps fragment to
    // ~1.9 GB. The memory pattern plans one block for all of a run's tensors: no gain here.
    enableCpuMemArena: true,
    enableMemPattern: false,
    // Idle pool threads sleep instead of spinning: ~15 % less CPU per window here, and the cores
    // go to the STFT/iSTFT of the neighbouring windows (and other processes) instead.
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  const find = (names: readonly string[], metas: readonly unknown[], rank: number, what: string) => {
    const i = metas.findIndex((m) => shapeOf(m).length === rank);
    if (i < 0) throw new Error(`the model has no ${what} (rank-${rank} tensor): not an htdemucs export`);
    return names[i];
  };
  const io: Io = {
    wave: find(session.inputNames, session.inputMetadata, 3, 'waveform input'),
    mag: find(session.inputNames, session.inputMetadata, 4, 'spectrogram input'),
    freqOut: find(session.outputNames, session.outputMetadata, 5, 'spectral output'),
    timeOut: find(session.outputNames, session.outputMetadata, 4, 'waveform output'),
  };
  const waveShape = shapeOf(session.inputMetadata[session.inputNames.indexOf(io.wave)]);
  if (waveShape[2] !== HT.segment) throw new Error(`the model's segment is ${String(waveShape[2])} samples, expected ${HT.segment} (htdemucs at 44.1 kHz)`);
  // One segment at a time: `session.run` yields (setImmediate) before it computes, and two runs
  // at once would only share the same cores.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (req: SegmentRequest) => { queue = queue.then(() => handle(req)); });
  async function handle(req: SegmentRequest): Promise<void> {
    try {
      const feeds = {
        [io.wave]: new ort.Tensor('float32', req.mix, [1, 2, HT.segment]),
        [io.mag]: new ort.Tensor('float32', req.mag, [1, 4, HT.bins, HT.frames]),
      };
      const t0 = performance.now();
      const res = await session.run(feeds);
      const modelMs = performance.now() - t0;
      // Copies the reply owns, so the transfer never touches memory ONNX Runtime may still own.
      const z = new Float32Array(res[io.freqOut].data as Float32Array);
      const xt = new Float32Array(res[io.timeOut].data as Float32Array);
      for (const t of Object.values(res)) t.dispose?.();
      port.postMessage({ id: req.id, z, xt, modelMs } satisfies SegmentReply, [z.buffer as ArrayBuffer, xt.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) } satisfies SegmentReply);
    }
  }
  port.postMessage({ ready: true, inputs: [...session.inputNames], outputs: [...session.outputNames] } satisfies WorkerHello);
} catch (err) {
  port.postMessage({ fatal: String((err as Error)?.message ?? err) } satisfies WorkerHello);
}
