/**
 * Sums over a moving range of sample positions, for overlap-add of windows: `tracks` float32
 * arrays (and, when `weighted`, the summed weights) covering [base, base + capacity). Positions are
 * added in increasing order of window start and taken out once final, after which the buffers
 * slide forward, so their size stays that of the windows still open.
 */
export class SlidingSum {
  private base: number;
  private used = 0;
  private data: Float32Array[];
  private weights: Float32Array | null;

  constructor(readonly tracks: number, base: number, capacity: number, weighted = false) {
    this.base = base;
    this.data = Array.from({ length: tracks }, () => new Float32Array(capacity));
    this.weights = weighted ? new Float32Array(capacity) : null;
  }

  private get capacity(): number {
    return this.data[0]?.length ?? 0;
  }

  private ensure(end: number): void {
    if (end < this.base) throw new RangeError(`position ${end} was already taken (base ${this.base})`);
    const need = end - this.base;
    if (need <= this.capacity) return;
    const cap = Math.max(need, 2 * this.capacity);
    const grow = (a: Float32Array) => { const b = new Float32Array(cap); b.set(a.subarray(0, this.used)); return b; };
    this.data = this.data.map(grow);
    if (this.weights) this.weights = grow(this.weights);
  }

  /**
   * Adds `weight[i] · src[t·stride + offset + i]` at position `start + i` of track t, and
   * `weight[i]` to the summed weights, for i in [0, len).
   */
  addWeighted(start: number, len: number, src: Float32Array, stride: number, offset: number, weight: Float32Array): void {
    if (!this.weights) throw new Error('not a weighted sum');
    this.ensure(start + len);
    const o = start - this.base;
    for (let t = 0; t < this.tracks; t++) {
      const d = this.data[t];
      const s = t * stride + offset;
      for (let i = 0; i < len; i++) d[o + i] += weight[i] * src[s + i];
    }
    const ws = this.weights;
    for (let i = 0; i < len; i++) ws[o + i] += weight[i];
    this.used = Math.max(this.used, o + len);
  }

  /**
   * Takes the values of [from, to) out as planar [tracks][to − from]: divided by the summed weights
   * when weighted, else by `divisor`. Everything before `to` is dropped.
   */
  take(from: number, to: number, divisor = 1): Float32Array {
    const len = to - from;
    const out = new Float32Array(this.tracks * len);
    this.ensure(to);
    const o = from - this.base;
    if (o < 0) throw new RangeError(`position ${from} was already taken (base ${this.base})`);
    for (let t = 0; t < this.tracks; t++) {
      const d = this.data[t];
      const dst = t * len;
      if (this.weights) {
        const ws = this.weights;
        for (let i = 0; i < len; i++) out[dst + i] = d[o + i] / ws[o + i];
      } else {
        const k = 1 / divisor;
        for (let i = 0; i < len; i++) out[dst + i] = d[o + i] * k;
      }
    }
    this.dropBefore(to);
    return out;
  }

  /** Adds planar [tracks][len] values at positions [start, start + len). */
  addPlanar(start: number, len: number, src: Float32Array): void {
    this.ensure(start + len);
    const o = start - this.base;
    for (let t = 0; t < this.tracks; t++) {
      const d = this.data[t];
      const s = t * len;
      for (let i = 0; i < len; i++) d[o + i] += src[s + i];
    }
    this.used = Math.max(this.used, o + len);
  }

  /** Forgets every position before `to` and slides the buffers forward. */
  dropBefore(to: number): void {
    const shift = to - this.base;
    if (shift <= 0) return;
    const keep = Math.max(0, this.used - shift);
    const slide = (a: Float32Array) => {
      if (keep > 0) a.copyWithin(0, shift, shift + keep);
      a.fill(0, keep, Math.max(keep, this.used));
    };
    this.data.forEach(slide);
    if (this.weights) slide(this.weights);
    this.base = to;
    this.used = keep;
  }
}
