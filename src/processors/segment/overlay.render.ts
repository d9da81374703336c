import sharp from 'sharp';
import type { PixelImage } from './builtin/builtin.engine.js';
import type { Rle } from './coco-rle.js';
import type { MaskMoments } from './mask.moments.js';

export interface OverlayObject {
  id: number;
  rle: Rle;
  moments: MaskMoments;
  label?: string;
  /** Draw the principal axis (false for round objects, whose axis means nothing). */
  axis: boolean;
}

/** Distinct, saturated colours: hues spaced by the golden angle. */
export function overlayColour(id: number): [number, number, number] {
  const hue = (id * 137.508) % 360;
  const f = (n: number): number => {
    const k = (n + hue / 60) % 6;
    return Math.round(255 * (1 - Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

/**
 * The image as PNG with each mask tinted in its colour and outlined, its id (and label) written at
 * its centroid, and its principal axis drawn through the centroid over the object's length
 * (4·√λ₁, the full length of an ellipse with the same second moments).
 */
export async function renderOverlay(image: PixelImage, objects: readonly OverlayObject[]): Promise<Buffer> {
  const { width: W, height: H } = image;
  const rgb = new Uint8Array(W * H * 3);
  const ch = image.channels;
  for (let i = 0, k = 0; i < W * H; i++, k += ch) {
    rgb[i * 3] = image.data[k];
    rgb[i * 3 + 1] = ch >= 3 ? image.data[k + 1] : image.data[k];
    rgb[i * 3 + 2] = ch >= 3 ? image.data[k + 2] : image.data[k];
  }
  for (const o of objects) tint(rgb, W, H, o.rle, overlayColour(o.id));

  const parts: string[] = [];
  const fontSize = Math.max(12, Math.round(Math.min(W, H) / 40));
  const stroke = Math.max(2, Math.round(Math.min(W, H) / 300));
  for (const o of objects) {
    const [cx, cy] = o.moments.centroid;
    const [r, g, b] = overlayColour(o.id);
    if (o.axis) {
      const half = 2 * Math.sqrt(o.moments.eigenvalues[0]);
      const a = (o.moments.angle * Math.PI) / 180;
      const dx = Math.cos(a) * half, dy = -Math.sin(a) * half; // counter-clockwise as seen: image y points down
      parts.push(`<line x1="${(cx - dx).toFixed(1)}" y1="${(cy - dy).toFixed(1)}" x2="${(cx + dx).toFixed(1)}" y2="${(cy + dy).toFixed(1)}" stroke="white" stroke-width="${stroke + 2}"/>`);
      parts.push(`<line x1="${(cx - dx).toFixed(1)}" y1="${(cy - dy).toFixed(1)}" x2="${(cx + dx).toFixed(1)}" y2="${(cy + dy).toFixed(1)}" stroke="rgb(${r},${g},${b})" stroke-width="${stroke}"/>`);
    }
    parts.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="${stroke * 1.5}" fill="white" stroke="black"/>`);
    const text = escapeXml(`#${o.id}${o.label ? ` ${o.label}` : ''}`);
    parts.push(`<text x="${(cx + stroke * 3).toFixed(1)}" y="${(cy - stroke * 3).toFixed(1)}" font-family="DejaVu Sans, Arial, sans-serif" font-size="${fontSize}" font-weight="bold" fill="white" stroke="black" stroke-width="${Math.max(1, fontSize / 12).toFixed(1)}" paint-order="stroke">${text}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}">${parts.join('')}</svg>`;
  // Composited in raw form first: sharp composites last in its pipeline, and an SVG overlay would
  // otherwise leave an alpha channel (opaque everywhere) in the PNG.
  const { data, info } = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .raw()
    .toBuffer({ resolveWithObject: true });
  return sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .removeAlpha()
    .png({ compressionLevel: 6 })
    .toBuffer();
}

/** Blends the mask's pixels half-way to the colour and paints its outline in the colour. */
function tint(rgb: Uint8Array, W: number, H: number, rle: Rle, colour: [number, number, number]): void {
  // Decode into the bounding box only.
  let x0 = W, x1 = -1;
  const segs: number[] = []; // (x, y0, len) triples
  let pos = 0;
  for (let j = 0; j < rle.counts.length; j++) {
    let n = rle.counts[j];
    if (j % 2 === 1) {
      let p = pos;
      while (n > 0) {
        const x = Math.floor(p / H), y = p - x * H, len = Math.min(n, H - y);
        segs.push(x, y, len);
        x0 = Math.min(x0, x); x1 = Math.max(x1, x);
        p += len; n -= len;
      }
    }
    pos += rle.counts[j];
  }
  if (x1 < 0) return;
  const bw = x1 - x0 + 3; // one column of margin each side
  const local = new Uint8Array(bw * (H + 2));
  for (let s = 0; s < segs.length; s += 3) {
    const x = segs[s] - x0 + 1;
    for (let y = segs[s + 1]; y < segs[s + 1] + segs[s + 2]; y++) local[(y + 1) * bw + x] = 1;
  }
  for (let s = 0; s < segs.length; s += 3) {
    const x = segs[s];
    for (let y = segs[s + 1]; y < segs[s + 1] + segs[s + 2]; y++) {
      const li = (y + 1) * bw + (x - x0 + 1);
      const edge = !local[li - 1] || !local[li + 1] || !local[li - bw] || !local[li + bw];
      const k = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) rgb[k + c] = edge ? colour[c] : (rgb[k + c] + colour[c]) >> 1;
    }
  }
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}
