/** A candidate box `[x0, y0, x1, y1]` with its score and class. */
export interface Candidate {
  box: [number, number, number, number];
  score: number;
  classId: number;
  index: number;
}

export function boxIou(a: readonly number[], b: readonly number[]): number {
  const iw = Math.min(a[2], b[2]) - Math.max(a[0], b[0]);
  const ih = Math.min(a[3], b[3]) - Math.max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const inter = iw * ih;
  const union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression, per class (a box only suppresses boxes of its own class, as
 * Ultralytics does unless told to be class-agnostic). Returns the kept candidates, best first.
 */
export function nonMaxSuppression(cands: Candidate[], iouThreshold: number, maxKeep: number, classAgnostic = false): Candidate[] {
  const sorted = [...cands].sort((a, b) => b.score - a.score);
  const kept: Candidate[] = [];
  for (const c of sorted) {
    if (kept.length >= maxKeep) break;
    if (kept.some((k) => (classAgnostic || k.classId === c.classId) && boxIou(k.box, c.box) > iouThreshold)) continue;
    kept.push(c);
  }
  return kept;
}
