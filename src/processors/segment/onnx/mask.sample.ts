/**
 * Sampling of model mask grids back onto the original image. Grid cell centres sit at integer
 * coordinates; a pixel of the image is sampled at its centre with bilinear interpolation, edges
 * clamped (align_corners = false, as torch's `interpolate` and OpenCV's `resize` do).
 */

/** Bilinear value of the `gw`×`gh` grid starting at `offset` in `grid`, at grid coordinates (u, v). */
export function bilinear(grid: ArrayLike<number>, offset: number, gw: number, gh: number, u: number, v: number): number {
  const uc = u < 0 ? 0 : u > gw - 1 ? gw - 1 : u;
  const vc = v < 0 ? 0 : v > gh - 1 ? gh - 1 : v;
  const x0 = Math.floor(uc), y0 = Math.floor(vc);
  const x1 = x0 + 1 < gw ? x0 + 1 : x0, y1 = y0 + 1 < gh ? y0 + 1 : y0;
  const fx = uc - x0, fy = vc - y0;
  const a = grid[offset + y0 * gw + x0], b = grid[offset + y0 * gw + x1];
  const c = grid[offset + y1 * gw + x0], d = grid[offset + y1 * gw + x1];
  return (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
}

/**
 * Probability at image pixel (x, y) of an M×M mask predicted for a box (Mask R-CNN's mask head):
 * the mask is padded with a ring of zeros and stretched over the box enlarged by (M+2)/M, as
 * maskrcnn-benchmark's and torchvision's `paste_masks_in_image` do, so that the 0.5 level of a full
 * mask falls on the box's own edges.
 */
export function boxMaskSampler(mask: ArrayLike<number>, offset: number, m: number, box: [number, number, number, number]): { sample: (x: number, y: number) => number; bounds: [number, number, number, number] } {
  const scale = (m + 2) / m;
  const cx = (box[0] + box[2]) / 2, cy = (box[1] + box[3]) / 2;
  const hw = Math.max((box[2] - box[0]) / 2, 1e-3) * scale, hh = Math.max((box[3] - box[1]) / 2, 1e-3) * scale;
  const ex0 = cx - hw, ey0 = cy - hh;
  const cell = (m + 2) / (2 * hw), cellY = (m + 2) / (2 * hh);
  const sample = (x: number, y: number): number => {
    // position in the padded grid (cells 0 and m+1 are the zero ring)
    const u = (x + 0.5 - ex0) * cell - 0.5;
    const v = (y + 0.5 - ey0) * cellY - 0.5;
    const pu = u < 0 ? 0 : u > m + 1 ? m + 1 : u;
    const pv = v < 0 ? 0 : v > m + 1 ? m + 1 : v;
    const x0 = Math.floor(pu), y0 = Math.floor(pv);
    const fx = pu - x0, fy = pv - y0;
    return (padded(mask, offset, m, x0, y0) * (1 - fx) + padded(mask, offset, m, x0 + 1, y0) * fx) * (1 - fy)
      + (padded(mask, offset, m, x0, y0 + 1) * (1 - fx) + padded(mask, offset, m, x0 + 1, y0 + 1) * fx) * fy;
  };
  return { sample, bounds: [Math.floor(ex0), Math.floor(ey0), Math.ceil(cx + hw), Math.ceil(cy + hh)] };
}

/** Cell (gx, gy) of an M×M mask surrounded by a ring of zeros (cells 0 and m+1). */
function padded(mask: ArrayLike<number>, offset: number, m: number, gx: number, gy: number): number {
  return gx < 1 || gy < 1 || gx > m || gy > m ? 0 : mask[offset + (gy - 1) * m + (gx - 1)];
}
