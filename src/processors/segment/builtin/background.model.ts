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
  // ~40 000 samples on a grid are plenty for 6 coefficients and keep the fit to a few milliseconds.
  const step = Math.max(1, Math.floor(Math.sqrt((w * h) / 40_000)));
  const band = Math.max(2, Math.round(0.03 * Math.min(w, h)));
  const us: number[] = [], vs: number[] = [], cols: number[] = [], border: number[] = [];
  for (let y = Math.floor(step / 2); y < h; y += step) {
    for (let x = Math.floor(step / 2); x < w; x += step) {
      const i = (y * w + x) * 3;
      us.push(x / w - 0.5); vs.push(y / h - 0.5);
      cols.push(rgb[i], rgb[i + 1], rgb[i + 2]);
      border.push(x < band || y < band || x >= w - band || y >= h - band ? 1 : 0);
    }
  }
  // Make sure the border is sampled even on tiny images or large steps.
  const n = us.length;
  const sel = Uint8Array.from(border);
  const res = new Float32Array(n);

  // 1. A robust constant from the border: its median colour, keeping border samples near it.
  const med = [0, 1, 2].map((c) => median(Float32Array.from(indices(sel), (i) => cols[i * 3 + c])));
  for (let i = 0; i < n; i++) res[i] = Math.hypot(cols[i * 3] - med[0], cols[i * 3 + 1] - med[1], cols[i * 3 + 2] - med[2]);
  let noise = median(Float32Array.from(indices(sel), (i) => res[i]));
  for (let i = 0; i < n; i++) if (sel[i] && res[i] > 3 * noise + 4) sel[i] = 0;

  // 2. Refit the surface on all samples near it until the selection settles.
  let coef = fit(us, vs, cols, sel);
  for (let iter = 0; iter < 6; iter++) {
    for (let i = 0; i < n; i++) {
      const bg = evaluate(coef, us[i], vs[i]);
      res[i] = Math.hypot(cols[i * 3] - bg[0], cols[i * 3 + 1] - bg[1], cols[i * 3 + 2] - bg[2]);
    }
    noise = median(Float32Array.from(indices(sel), (i) => res[i]));
    const tol = Math.max(3 * noise, 3);
    let changed = 0, count = 0;
    for (let i = 0; i < n; i++) {
      const s = res[i] <= tol ? 1 : 0;
      if (s !== sel[i]) changed++;
      sel[i] = s;
      count += s;
    }
    if (count < TERMS * 4) break; // nothing looks like background: keep the last fit
    coef = fit(us, vs, cols, sel);
    if (changed <= n * 0.001) break;
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += sel[i];
  return { coef, noise, coverage: count / n };
}

/** Colour distance of every pixel to the background surface. */
export function contrastImage(rgb: Float32Array, w: number, h: number, model: BackgroundModel): Float32Array {
  const out = new Float32Array(w * h);
  const [r, g, b] = model.coef;
  for (let y = 0; y < h; y++) {
    const v = y / h - 0.5;
    // Per row the surface is A + B·u + C·u² in each channel.
    const ar = r[0] + r[2] * v + r[5] * v * v, br = r[1] + r[4] * v, cr = r[3];
    const ag = g[0] + g[2] * v + g[5] * v * v, bg = g[1] + g[4] * v, cg = g[3];
    const ab = b[0] + b[2] * v + b[5] * v * v, bb = b[1] + b[4] * v, cb = b[3];
    for (let x = 0, i = y * w, k = y * w * 3; x < w; x++, i++, k += 3) {
      const u = x / w - 0.5;
      const dr = rgb[k] - (ar + (br + cr * u) * u);
      const dg = rgb[k + 1] - (ag + (bg + cg * u) * u);
      const db = rgb[k + 2] - (ab + (bb + cb * u) * u);
      out[i] = Math.sqrt(dr * dr + dg * dg + db * db);
    }
  }
  return out;
}

function evaluate(coef: [Float64Array, Float64Array, Float64Array], u: number, v: number): [number, number, number] {
  const t = [1, u, v, u * u, u * v, v * v];
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let k = 0; k < TERMS; k++) s += coef[c][k] * t[k];
    out[c] = s;
  }
  return out;
}

/** Least squares through the normal equations (6×6, three right-hand sides). */
function fit(us: number[], vs: number[], cols: number[], sel: Uint8Array): [Float64Array, Float64Array, Float64Array] {
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

function* indices(sel: Uint8Array): Generator<number> {
  for (let i = 0; i < sel.length; i++) if (sel[i]) yield i;
}

function median(a: Float32Array): number {
  if (a.length === 0) return 0;
  a.sort();
  return a[a.length >> 1];
}
