/**
 * A benchmark's headline figures, for `npm run bench` (bench/run.ts): each is printed by the
 * benchmark as one `@figure {json}` line next to its own output, and the runner gathers them into
 * one table, every figure beside its peer's from the same run, with the ratio.
 */
export interface Figure {
  /** What was measured, e.g. "GET /v1/jobs/:id p99 while models run". */
  name: string;
  value: number;
  unit: string;
  /** The peer measured in the same run (another tool, or the previous configuration). */
  peer?: { name: string; value: number };
  /** Whether a larger value is better (throughput) or worse (latency); decides how the ratio reads. */
  better: 'higher' | 'lower';
  /** The goal, as text (e.g. "≥ 0.9× curl"). */
  goal?: string;
}

export const FIGURE_PREFIX = '@figure ';

/** Prints a figure for the runner (and for a person reading the output). */
export function reportFigure(f: Figure): void {
  console.log(`${FIGURE_PREFIX}${JSON.stringify(f)}`);
}

/**
 * How many times better than its peer a figure is: value/peer for `higher`, peer/value for
 * `lower`, so that > 1 always means better than the peer.
 */
export function advantage(f: Figure): number | undefined {
  if (!f.peer || !Number.isFinite(f.peer.value) || !Number.isFinite(f.value)) return undefined;
  if (f.better === 'higher') return f.peer.value === 0 ? undefined : f.value / f.peer.value;
  return f.value === 0 ? undefined : f.peer.value / f.value;
}

export function parseFigure(line: string): Figure | undefined {
  if (!line.startsWith(FIGURE_PREFIX)) return undefined;
  try {
    const f = JSON.parse(line.slice(FIGURE_PREFIX.length)) as Figure;
    return typeof f.name === 'string' && typeof f.value === 'number' ? f : undefined;
  } catch {
    return undefined;
  }
}
