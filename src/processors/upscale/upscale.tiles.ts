/**
 * Tiling along one axis. The image is cut into cores of at most `tile` pixels; each core grows
 * by `overlap/2` on both sides into a *window* (the part of the tile's output that is kept), and
 * neighbouring windows are cross-faded over that overlap with linear weights that sum to exactly 1,
 * so no seam can show. The model sees more than the window: a *region* with `context` extra pixels
 * on each side, so that the kept part matches what an untiled run computes (the network's output
 * at a pixel depends only on inputs within its receptive field). Every region has the same size,
 * shifted inward at the image edges where there is nothing beyond the border to see anyway, so
 * the engine always gets one tile shape.
 */
export interface AxisTile {
  /** The part of the input this tile is responsible for, [start, end). */
  coreStart: number;
  coreEnd: number;
  /** The kept output span, in input pixels: the core plus half the overlap on inner sides. */
  windowStart: number;
  windowEnd: number;
  /** The span fed to the model, in input pixels. */
  regionStart: number;
  regionEnd: number;
}

export interface AxisPlan {
  tiles: AxisTile[];
  /** Half the cross-fade width, in input pixels (0 with a single tile). */
  half: number;
  /** Size of every region. */
  region: number;
}

export function planAxis(length: number, tile: number, overlap: number, context: number): AxisPlan {
  if (length < 1) throw new RangeError('length must be ≥ 1');
  const n = Math.max(1, Math.ceil(length / Math.max(1, tile)));
  const bounds = Array.from({ length: n + 1 }, (_, i) => Math.round((i * length) / n));
  let minCore = Infinity;
  for (let i = 0; i < n; i++) minCore = Math.min(minCore, bounds[i + 1] - bounds[i]);
  // Ramps of neighbouring boundaries must not meet inside a core (each pixel is shared by two
  // tiles at most).
  const half = n > 1 ? Math.max(0, Math.min(Math.floor(overlap / 2), Math.floor(minCore / 2))) : 0;
  const windows = bounds.slice(0, n).map((b, i) => ({
    coreStart: b,
    coreEnd: bounds[i + 1],
    windowStart: Math.max(0, b - half),
    windowEnd: Math.min(length, bounds[i + 1] + half),
  }));
  const widest = Math.max(...windows.map((w) => w.windowEnd - w.windowStart));
  const region = Math.min(length, widest + 2 * context);
  const tiles = windows.map((w) => {
    const centred = Math.round((w.windowStart + w.windowEnd) / 2 - region / 2);
    const regionStart = Math.min(Math.max(0, centred), length - region);
    return { ...w, regionStart, regionEnd: regionStart + region };
  });
  return { tiles, half, region };
}

/**
 * Cross-fade weights of tile `i` over its window, per *output* pixel (`scale` output pixels per
 * input pixel). The weights of two neighbours sum to 1 at every output pixel they share.
 */
export function windowWeights(plan: AxisPlan, i: number, scale: number): Float32Array {
  const t = plan.tiles[i];
  const n = plan.tiles.length;
  const out = new Float32Array((t.windowEnd - t.windowStart) * scale);
  const ramp = 2 * plan.half;
  for (let k = 0; k < out.length; k++) {
    const x = t.windowStart + (k + 0.5) / scale; // centre of the output pixel, in input coordinates
    let w = 1;
    if (i > 0 && ramp > 0 && x < t.coreStart + plan.half) w = Math.min(w, (x - (t.coreStart - plan.half)) / ramp);
    if (i < n - 1 && ramp > 0 && x > t.coreEnd - plan.half) w = Math.min(w, (t.coreEnd + plan.half - x) / ramp);
    out[k] = w;
  }
  return out;
}
