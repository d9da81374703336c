import { readFile, writeFile } from 'node:fs/promises';
import { parentPort, workerData } from 'node:worker_threads';
import { rewriteHtdemucsGraph } from './htdemucs.graph.js';

/**
 * A short-lived thread that rewrites the htdemucs graph (htdemucs.graph.ts) from `source` into
 * `target`. It runs apart from the model's thread so that the ~350 MB of buffers the rewrite
 * passes through go when the thread ends, instead of waiting for a garbage collection while the
 * model runs. → `{ attention, reshapes }` or `{ error }`.
 */
export interface RewriteSpec { source: string; target: string }
export type RewriteReply = { attention: number; reshapes: number } | { error: string };

const spec = workerData as RewriteSpec;
try {
  const r = rewriteHtdemucsGraph(await readFile(spec.source));
  await writeFile(spec.target, r.bytes);
  parentPort!.postMessage({ attention: r.attention, reshapes: r.reshapes } satisfies RewriteReply);
} catch (err) {
  parentPort!.postMessage({ error: String((err as Error)?.message ?? err) } satisfies RewriteReply);
}
