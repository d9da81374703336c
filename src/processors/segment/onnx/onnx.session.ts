import { stat } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { MediaflowError } from '../../../core/errors.js';

/**
 * ONNX Runtime sessions, kept per model file in the worker process: creating one parses and
 * optimises the graph (seconds for a Mask R-CNN), so successive jobs reuse it. A file replaced on
 * disk (new mtime or size) gets a new session. At most a few models stay loaded.
 */
const MAX_SESSIONS = 2;
const sessions = new Map<string, { key: string; session: Promise<ort.InferenceSession> }>();

export async function getSession(file: string, threads: number): Promise<ort.InferenceSession> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    throw new MediaflowError('MODEL_MISSING', `model file ${file} does not exist`, { cause: err });
  }
  const key = `${st.mtimeMs}:${st.size}:${threads}`;
  const cached = sessions.get(file);
  if (cached && cached.key === key) {
    sessions.delete(file); // most recently used last
    sessions.set(file, cached);
    return cached.session;
  }
  const session = ort.InferenceSession.create(file, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads } : {}),
    logSeverityLevel: 3,
  }).catch((err: unknown) => {
    sessions.delete(file);
    throw new MediaflowError('MODEL_INVALID', `model file ${file} could not be loaded by ONNX Runtime: ${(err as Error).message}`, { cause: err });
  });
  sessions.set(file, { key, session });
  while (sessions.size > MAX_SESSIONS) {
    const [oldest, entry] = sessions.entries().next().value as [string, { session: Promise<ort.InferenceSession> }];
    sessions.delete(oldest);
    entry.session.then((s) => s.release()).catch(() => {});
  }
  return session;
}

/** Dimensions of a model input as declared: numbers, or null where the size is dynamic. */
export function inputDims(session: ort.InferenceSession, index = 0): (number | null)[] {
  const meta = session.inputMetadata[index];
  if (!meta || !meta.isTensor) throw new MediaflowError('MODEL_INVALID', 'the model input is not a tensor');
  return meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : null));
}

/** Reads a tensor's data as numbers (int64 labels arrive as BigInt64Array). */
export function tensorNumbers(t: ort.Tensor): ArrayLike<number> {
  const d = t.data;
  if (d instanceof BigInt64Array || d instanceof BigUint64Array) return Float64Array.from(d, (v) => Number(v));
  if (typeof d === 'string' || (Array.isArray(d) && typeof d[0] === 'string')) throw new MediaflowError('MODEL_INVALID', 'a model output holds strings');
  return d as ArrayLike<number>;
}

export { ort };
