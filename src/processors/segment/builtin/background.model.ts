/**
 * The background of a scene of objects on a contrasting backdrop, as a smooth colour surface: one
 * quadratic polynomial in (x, y) per channel, fitted by least squares to pixels believed to be
 * background. It starts from the image border (the "border colour model": a backdrop usually frames
 * the objects) and is refitted on every pixel close to the current surface until the selection
 * settles, which corrects uneven illumination (a lamp to one side, vignetting) the way an
 * illumination-corrected grey image would, while keeping colour: a red object on a grey backdrop of
 * the same brightness still stands out.
 */

export interface BackgroundModel {
  /** Per channel, coefficients of [1, u, v, u², uv, v²] with u = x / w − ½, v = y / h − ½. */
  coef: [Float64Array, Float64Array, Float64Array];
  /** Median colour distance of the background samples to the surface: noise plus model error. */
  noise: number;
  /** Fraction of the sampled pixels taken as background. */
  coverage: number;
}

const TERMS = 6;

/** Fits the background of an interleaved 3-channel image (values 0..255). */
export function fitBackground(rgb: Float32Array, w: number, h: number): BackgroundModel {
  // ~16 000 samples on a grid are plenty for 6 coefficients and keep each fit to a millisecond.
  const step = Math.max(1, Math.floor(Math.sqrt((w * h) / 16_000)));
  const band = Math.max(2, Math.round(0.03 * Math.min(w, h)));
  const nx = Math.ceil((w - Math.floor(step / 2)) / step), ny = Math.ceil((h - Math.floor(step / 2)) / step);
  const n = nx * ny;
  const us = new Float64Array(n), vs = new Float64Array(n), cols = new Float32Array(n * 3);
  const sel = new Uint8Array(n);
  let i = 0;
  for (let y = Math.floor(step / 2); y < h; y += step) {
    for (let x = Math.floor(step / 2); x < w; x += step, i++) {
      const k = (y * w + x) * 3;
      us[i] = x / w - 0.5; vs[i] = y / h - 0.5;
      cols[i * 3] = rgb[k]; cols[i * 3 + 1] = rgb[k + 1]; cols[i * 3 + 2] = rgb[k + 2];
      sel[i] = x < band || y < band || x >= w - band || y >= h - band ? 1 : 0; // start from the border
    }
  }
  const res = new Float32Array(n);

  // 1. A robust constant from the border: its median colour, keeping border samples near it.
  const med = [0, 1, 2].map((c) => median(cols.filter((_, k) => k % 3 === c && sel[(k - c) / 3] === 1)));
  for (let k = 0; k < n; k++) res[k] = dist3(cols[k * 3] - med[0], cols[k * 3 + 1] - med[1], cols[k * 3 + 2] - med[2]);
  let noise = median(res.filter((_, k) => sel[k] === 1));
  for (let k = 0; k < n; k++) if (sel[k] && res[k] > 3 * noise + 4) sel[k] = 0;

  // 2. Refit the surface on all samples near it until the selection settles.
  let coef = fit(us, vs, cols, sel);
  for (let iter = 0; iter < 6; iter++) {
    residuals(coef, us, vs, cols, res);
    noise = median(res.filter((_, k) => sel[k] === 1));
    const tol = Math.max(3 * noise, 3);
    let changed = 0, count = 0;
    for (let k = 0; k < n; k++) {
      const s = res[k] <= tol ? 1 : 0;
      if (s !== sel[k]) changed++;
      sel[k] = s;
      count += s;
    }
    if (count < TERMS * 4) break; // nothing looks like background: keep the last fit
    coef = fit(us, vs, cols, sel);
    if (changed <= n * 0.001) break;
  }
  let count = 0;
  for (let k = 0; k < n; k++) count += sel[k];
  return { coef, noise, coverage: count / n };
}

/** Colour distance of every pixel to the background surface. */
export function contrastImage(rgb: Float32Array, w: number, h: number, model: BackgroundModel): Float32Array {
  const out = new Float32Array(w * h);
  const [r, g, b] = model.coef;
  const us = new Float32Array(w);
  for (let x = 0; x < w; x++) us[x] = x / w - 0.5;
  for (let y = 0; y < h; y++) {
    const v = y / h - 0.5;
    // Per row the surface is A + B·u + C·u² in each channel.
    const ar = r[0] + r[2] * v + r[5] * v * v, br = r[1] + r[4] * v, cr = r[3];
    const ag = g[0] + g[2] * v + g[5] * v * v, bg = g[1] + g[4] * v, cg = g[3];
    const ab = b[0] + b[2] * v + b[5] * v * v, bb = b[1] + b[4] * v, cb = b[3];
    for (let x = 0, i = y * w, k = y * w * 3; x < w; x++, i++, k += 3) {
      const u = us[x];
      const dr = rgb[k] - (ar + (br + cr * u) * u);
      const dg = rgb[k + 1] - (ag + (bg + cg * u) * u);
      const db = rgb[k + 2] - (ab + (bb + cb * u) * u);
      out[i] = Math.sqrt(dr * dr + dg * dg + db * db);
    }
  }
  return out;
}

// Math.hypot is several times slower than this in V8, and overflow is impossible at 0..255.
function dist3(a: number, b: number, c: number): number {
  return Math.sqrt(a * a + b * b + c * c);
}

function residuals(coef: [Float64Array, Float64Array, Float64Array], us: Float64Array, vs: Float64Array, cols: Float32Array, out: Float32Array): void {
  const [r, g, b] = coef;
  for (let i = 0; i < out.length; i++) {
    const u = us[i], v = vs[i], uu = u * u, uv = u * v, vv = v * v;
    const dr = cols[i * 3] - (r[0] + r[1] * u + r[2] * v + r[3] * uu + r[4] * uv + r[5] * vv);
    const dg = cols[i * 3 + 1] - (g[0] + g[1] * u + g[2] * v + g[3] * uu + g[4] * uv + g[5] * vv);
    const db = cols[i * 3 + 2] - (b[0] + b[1] * u + b[2] * v + b[3] * uu + b[4] * uv + b[5] * vv);
    out[i] = dist3(dr, dg, db);
  }
}

/** Least squares through the normal equations (6×6, three right-hand sides). */
function fit(us: Float64Array, vs: Float64Array, cols: Float32Array, sel: Uint8Array): [Float64Array, Float64Array, Float64Array] {
  const A = new Float64Array(TERMS * TERMS);
  const B = [new Float64Array(TERMS), new Float64Array(TERMS), new Float64Array(TERMS)];
  const t = new Float64Array(TERMS);
  for (let i = 0; i < sel.length; i++) {
    if (!sel[i]) continue;
    const u = us[i], v = vs[i];
    t[0] = 1; t[1] = u; t[2] = v; t[3] = u * u; t[4] = u * v; t[5] = v * v;
    for (let a = 0; a < TERMS; a++) {
      for (let b = 0; b < TERMS; b++) A[a * TERMS + b] += t[a] * t[b];
      for (let c = 0; c < 3; c++) B[c][a] += t[a] * cols[i * 3 + c];
    }
  }
  // A small ridge keeps the system solvable when the samples do not span every term (a thin border).
  for (let a = 0; a < TERMS; a++) A[a * TERMS + a] += 1e-6 * (A[0] || 1);
  return B.map((rhs) => solve(A, rhs)) as [Float64Array, Float64Array, Float64Array];
}

function solve(Ain: Float64Array, bin: Float64Array): Float64Array {
  const n = TERMS;
  const A = Float64Array.from(Ain), b = Float64Array.from(bin);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(A[r * n + col]) > Math.abs(A[piv * n + col])) piv = r;
    if (piv !== col) {
      for (let k = 0; k < n; k++) { const tmp = A[col * n + k]; A[col * n + k] = A[piv * n + k]; A[piv * n + k] = tmp; }
      const tb = b[col]; b[col] = b[piv]; b[piv] = tb;
    }
    const d = A[col * n + col] || 1e-12;
    for (let r = col + 1; r < n; r++) {
      const f = A[r * n + col] / d;
      if (!f) continue;
      for (let k = col; k < n; k++) A[r * n + k] -= f * A[col * n + k];
      b[r] -= f * b[col];
    }
  }
  const x = new Float64Array(n);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < n; k++) s -= A[r * n + k] * x[k];
    x[r] = s / (A[r * n + r] || 1e-12);
  }
  return x;
}

function median(a: Float32Array): number {
  if (a.length === 0) return 0;
  a.sort();
  return a[a.length >> 1];
}
