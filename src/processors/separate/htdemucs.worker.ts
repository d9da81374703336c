import { parentPort, workerData } from 'node:worker_threads';
import { HT, HtSpectrogram } from './htdemucs.spec.js';

/**
 * A worker thread that owns this process's one htdemucs ONNX session and separates one segment
 * per request: STFT → model → iSTFT + time branch. ONNX Runtime's Node binding runs a session
 * synchronously on the calling thread (4–10 s per segment here), so it runs here, away from the
 * event loop that heartbeats job leases, reports progress and hears cancellation.
 *
 * Protocol: → `{ id, mix }` (planar [2][segment]); ← `{ id, out, modelMs, dspMs }` (planar
 * [4 sources][2][segment]) or `{ id, error }`. On start ← `{ ready }` or `{ fatal }`.
 */
export interface WorkerSpec { modelPath: string; threads: number }
export interface SegmentRequest { id: number; mix: Float32Array }
export type SegmentReply = { id: number; out: Float32Array; modelMs: number; dspMs: number } | { id: number; error: string };
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
  const session = await ort.InferenceSession.create(spec.modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: spec.threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    // Without ORT's arena the peak RSS of one segment is ~1 GB lower (2.5 vs 3.5 GB measured) at the
    // same speed: the arena keeps every size class it ever grew for.
    enableCpuMemArena: false,
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
  const dsp = new HtSpectrogram();
  const mag = new Float32Array(4 * HT.bins * HT.frames);
  // One segment at a time: the scratch buffers are shared, and `session.run` yields (setImmediate)
  // before it computes, which would let a second request overwrite them.
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (req: SegmentRequest) => { queue = queue.then(() => handle(req)); });
  async function handle(req: SegmentRequest): Promise<void> {
    try {
      const t0 = performance.now();
      dsp.spec(req.mix, mag);
      const t1 = performance.now();
      const feeds = {
        [io.wave]: new ort.Tensor('float32', req.mix, [1, 2, HT.segment]),
        [io.mag]: new ort.Tensor('float32', mag, [1, 4, HT.bins, HT.frames]),
      };
      const res = await session.run(feeds);
      const t2 = performance.now();
      const z = res[io.freqOut].data as Float32Array;
      // The reply owns its buffer: a copy of the time branch, so the transfer never touches memory
      // that ONNX Runtime may still own.
      const out = new Float32Array(res[io.timeOut].data as Float32Array);
      dsp.ispecAdd(z, out, HT.sources.length);
      for (const t of Object.values(res)) t.dispose?.();
      const t3 = performance.now();
      port.postMessage({ id: req.id, out, modelMs: t2 - t1, dspMs: (t1 - t0) + (t3 - t2) } satisfies SegmentReply, [out.buffer as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: req.id, error: String((err as Error)?.stack ?? err) } satisfies SegmentReply);
    }
  }
  port.postMessage({ ready: true, inputs: [...session.inputNames], outputs: [...session.outputNames] } satisfies WorkerHello);
} catch (err) {
  port.postMessage({ fatal: String((err as Error)?.message ?? err) } satisfies WorkerHello);
}
