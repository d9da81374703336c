/**
 * `randint(0, max)` from a seed (mulberry32). Demucs draws its shifts from Python's global random
 * state; a seed (by default from the input's sha256) keeps the same job giving the same stems, which
 * the dedup key and output hashes assume. Hand-written: eight lines, no library needed.
 */
export function seededRandint(seed: number): (max: number) => number {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (max) => Math.floor(next() * (max + 1));
}
