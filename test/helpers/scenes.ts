/**
 * Synthetic scenes with known ground truth for the segmentation tests and benchmark: rotated
 * rectangles and ellipses of known angle and colour on a plain or unevenly lit, noisy backdrop.
 * Shapes are antialiased (4×4 supersampling); the true mask of a shape is the set of pixels whose
 * centre it covers and no later shape covers (later shapes are drawn on top).
 */
import sharp from 'sharp';

export type Rgb = [number, number, number];

export interface Shape {
  kind: 'rect' | 'ellipse';
  cx: number;
  cy: number;
  /** Full extent along the shape's own major axis, px. */
  length: number;
  /** Full extent across it, px. */
  width: number;
  /** Major axis, degrees counter-clockwise from the horizontal as the image is seen. */
  angle: number;
  color: Rgb;
}

export interface SceneSpec {
  width: number;
  height: number;
  background: Rgb;
  shapes: Shape[];
  /** Gaussian noise per channel (standard deviation, 0..255 units). Default 0. */
  noise?: number;
  /** Brightness ramp from left to right as a fraction (0.4: from ×0.8 to ×1.2). Default 0. */
  tilt?: number;
  /** Darkening of the corners relative to the centre as a fraction. Default 0. */
  vignette?: number;
  seed?: number;
}

export interface Scene {
  width: number;
  height: number;
  /** Interleaved RGB. */
  rgb: Uint8Array;
  /** One row-major 0/1 mask per shape (its visible part). */
  masks: Uint8Array[];
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A point-in-shape test with the shape's rotation precomputed. */
function insideTest(s: Shape): (x: number, y: number) => boolean {
  const a = (s.angle * Math.PI) / 180, c = Math.cos(a), sn = Math.sin(a);
  const hl = s.length / 2, hw = s.width / 2;
  return (x, y) => {
    const dx = x - s.cx, dy = s.cy - y; // visual y points up
    const u = dx * c + dy * sn, v = -dx * sn + dy * c;
    if (s.kind === 'rect') return Math.abs(u) <= hl && Math.abs(v) <= hw;
    return (u / hl) ** 2 + (v / hw) ** 2 <= 1;
  };
}

function bounds(s: Shape, w: number, h: number): [number, number, number, number] {
  const r = Math.hypot(s.length, s.width) / 2 + 2;
  return [Math.max(0, Math.floor(s.cx - r)), Math.max(0, Math.floor(s.cy - r)), Math.min(w - 1, Math.ceil(s.cx + r)), Math.min(h - 1, Math.ceil(s.cy + r))];
}

export function drawScene(spec: SceneSpec): Scene {
  const { width: w, height: h, shapes } = spec;
  const rnd = mulberry32(spec.seed ?? 1);
  const colour = new Float32Array(w * h * 3);
  for (let i = 0; i < w * h; i++) colour.set(spec.background, i * 3);
  const top = new Int16Array(w * h).fill(-1); // which shape covers each pixel centre
  const SS = 4;
  shapes.forEach((s, si) => {
    const inside = insideTest(s);
    const [x0, y0, x1, y1] = bounds(s, w, h);
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        // Shapes are convex and much larger than a pixel: one whose corners are all inside is
        // wholly inside; one with no corner and not its centre inside is (almost) wholly outside.
        const corners = +inside(x, y) + +inside(x + 1, y) + +inside(x, y + 1) + +inside(x + 1, y + 1);
        if (corners === 0 && !inside(x + 0.5, y + 0.5)) continue;
        let f = 1;
        if (corners !== 4) {
          let cover = 0;
          for (let sy = 0; sy < SS; sy++) for (let sx = 0; sx < SS; sx++) if (inside(x + (sx + 0.5) / SS, y + (sy + 0.5) / SS)) cover++;
          f = cover / (SS * SS);
        }
        const k = (y * w + x) * 3;
        for (let c = 0; c < 3; c++) colour[k + c] = colour[k + c] * (1 - f) + s.color[c] * f;
        if (inside(x + 0.5, y + 0.5)) top[y * w + x] = si;
      }
    }
  });
  const rgb = new Uint8Array(w * h * 3);
  const tilt = spec.tilt ?? 0, vignette = spec.vignette ?? 0, noise = spec.noise ?? 0;
  let spare: number | null = null;
  const gauss = (): number => {
    if (spare !== null) { const s = spare; spare = null; return s; }
    const u = Math.max(rnd(), 1e-12), v = rnd();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const u = x / w - 0.5, v = y / h - 0.5;
      const light = (1 + tilt * u) * (1 - vignette * 2 * (u * u + v * v));
      const k = (y * w + x) * 3;
      for (let c = 0; c < 3; c++) {
        const val = colour[k + c] * light + (noise ? gauss() * noise : 0);
        rgb[k + c] = Math.max(0, Math.min(255, Math.round(val)));
      }
    }
  }
  const masks = shapes.map((_, si) => Uint8Array.from(top, (t) => (t === si ? 1 : 0)));
  return { width: w, height: h, rgb, masks };
}

export async function writeScene(scene: Scene, file: string, format: 'png' | 'jpeg' = 'png'): Promise<void> {
  const img = sharp(Buffer.from(scene.rgb.buffer, scene.rgb.byteOffset, scene.rgb.byteLength), { raw: { width: scene.width, height: scene.height, channels: 3 } });
  await (format === 'png' ? img.png({ compressionLevel: 1 }) : img.jpeg({ quality: 92 })).toFile(file);
}

/** IoU of two row-major 0/1 masks. */
export function pixelIou(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0, union = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i] && b[i]) inter++;
    if (a[i] || b[i]) union++;
  }
  return union ? inter / union : 0;
}

/** The smallest difference between two axis angles, in degrees (0..90). */
export function angleDiff(a: number, b: number): number {
  const d = Math.abs(a - b) % 180;
  return Math.min(d, 180 - d);
}

/**
 * A random scene of `count` elongated shapes that do not touch, on a backdrop with optional uneven
 * light and noise. Colours differ from the backdrop by at least 80 in some channel.
 */
export function randomScene(rnd: () => number, opts: { width: number; height: number; count: number; noise?: number; tilt?: number; vignette?: number }): SceneSpec {
  const { width: w, height: h } = opts;
  const bgGrey = 150 + Math.round(rnd() * 60);
  const background: Rgb = [bgGrey, bgGrey, bgGrey - 10];
  const shapes: Shape[] = [];
  const minSide = Math.min(w, h);
  let tries = 0;
  while (shapes.length < opts.count && tries++ < 1000) {
    const length = minSide * (0.12 + rnd() * 0.2);
    const width = length / (2 + rnd() * 3);
    const r = length / 2 + 6;
    const cx = r + rnd() * (w - 2 * r), cy = r + rnd() * (h - 2 * r);
    if (shapes.some((s) => Math.hypot(s.cx - cx, s.cy - cy) < r + s.length / 2 + 10)) continue;
    const dark = rnd() < 0.6;
    const color: Rgb = dark
      ? [Math.round(rnd() * 60), Math.round(rnd() * 60), Math.round(rnd() * 90)]
      : [Math.round(200 + rnd() * 55), Math.round(rnd() * 80), Math.round(rnd() * 60)];
    shapes.push({ kind: rnd() < 0.5 ? 'rect' : 'ellipse', cx, cy, length, width, angle: -90 + rnd() * 180, color });
  }
  return { width: w, height: h, background, shapes, noise: opts.noise, tilt: opts.tilt, vignette: opts.vignette, seed: Math.floor(rnd() * 1e9) };
}
