/**
 * Text accuracy metrics for OCR tests and benchmarks.
 */

/** Collapses every run of whitespace (newlines included) to one space and trims: layout is not scored. */
export function normaliseText(s: string): string {
  return s.normalize('NFC').replace(/\s+/g, ' ').trim();
}

/** Levenshtein distance over UTF-16 code units (two rows: O(n·m) time, O(m) memory). */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length === 0) return b.length;
  if (b.length === 0) return a.length;
  let prev = new Uint32Array(b.length + 1);
  let cur = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    cur[0] = i;
    const ca = a.charCodeAt(i - 1);
    for (let j = 1; j <= b.length; j++) {
      const sub = prev[j - 1]! + (ca === b.charCodeAt(j - 1) ? 0 : 1);
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, sub);
    }
    [prev, cur] = [cur, prev];
  }
  return prev[b.length]!;
}

/** Character error rate: edit distance / reference length, both texts normalised first. */
export function characterErrorRate(hypothesis: string, reference: string): number {
  const ref = normaliseText(reference);
  const hyp = normaliseText(hypothesis);
  return ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : editDistance(hyp, ref) / ref.length;
}

/** Summed edits and reference characters over many pages (a corpus CER weights pages by length). */
export function corpusErrorRate(pairs: Array<{ hypothesis: string; reference: string }>): number {
  let edits = 0;
  let chars = 0;
  for (const p of pairs) {
    const ref = normaliseText(p.reference);
    edits += editDistance(normaliseText(p.hypothesis), ref);
    chars += ref.length;
  }
  return chars === 0 ? 0 : edits / chars;
}
