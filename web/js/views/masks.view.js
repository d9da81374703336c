import { h, svg } from '../lib/dom.js';
import { paintRuns, principalAxis, rleCounts } from '../lib/coco-rle.js';

/**
 * `segment` and `orientation`: the masks decoded in the browser from their COCO RLE, coloured over
 * the image, with each object's id, box and principal axis; for `orientation`, the degree drawn as
 * an angle from the horizontal. Pointing at (or focusing) a row of the table picks out its object.
 */
export function render(job, { mediaUrl }) {
  const r = job.result ?? {};
  const isOrientation = job.processor === 'orientation';
  const instances = instancesOf(r);
  const first = instances[0]?.mask_rle?.size;
  const H = first?.[0] ?? r.height ?? r.image?.height ?? 1;
  const W = first?.[1] ?? r.width ?? r.image?.width ?? 1;

  // One label image for all masks: later masks win where they overlap (they rarely do).
  const labels = new Uint16Array(W * H);
  const objects = instances.map((inst, k) => {
    const [mh, mw] = inst.mask_rle?.size ?? [H, W];
    let m = null;
    if (inst.mask_rle && mh === H && mw === W) {
      try { m = paintRuns(rleCounts(inst.mask_rle), H, W, labels, k + 1); } catch { m = null; }
    }
    const id = inst.mask_id ?? inst.id ?? k;
    const centroid = inst.centroid ?? m?.centroid ?? (inst.bbox ? [inst.bbox[0] + inst.bbox[2] / 2, inst.bbox[1] + inst.bbox[3] / 2] : null);
    const axis = m?.cov ? principalAxis(m.cov) : null;
    const angle = inst.angle ?? (isOrientation && instances.length === 1 ? r.degree : undefined) ?? axis?.angle ?? null;
    const area = inst.area ?? m?.area ?? 0;
    const elong = inst.elongation ?? (axis ? axis.major / axis.minor : null);
    // Half-length of the major axis of the ellipse with this area and elongation (λ1/λ2 = (a/b)²).
    const half = area && elong ? Math.sqrt((area * Math.sqrt(elong)) / Math.PI) : 0;
    return { k, id, inst, decoded: m, centroid, angle, area, elong, half, color: colorOf(k) };
  });

  const img = h('img', { alt: `The image that was segmented (${W}×${H})`, width: W, height: H, decoding: 'async' });
  mediaUrl(job.input.url).then((u) => { img.src = u; }).catch(() => { img.alt = 'The input image could not be loaded'; });
  const canvas = h('canvas', { class: 'mask-layer', width: W, height: H, role: 'img', 'aria-label': `${objects.length} masks` });
  const vectors = svg('svg', { class: 'mask-vectors', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  // Labels are HTML over the picture, so their text keeps its size however the image is scaled.
  const tags = h('div', { class: 'mask-labels', 'aria-hidden': 'true' });
  const figure = h('div', { class: 'mask-figure' }, img, canvas, vectors, tags);
  // As wide as the panel, but never taller than most of the screen.
  figure.style.maxWidth = `min(100%, calc(70vh * ${W / H}))`;
  const tag = (x, y, text, cls = '') => h('span', { class: `mask-tag ${cls}`, style: `left: ${(100 * x) / W}%; top: ${(100 * y) / H}%` }, text);

  let highlight = -1;
  let opacity = 0.5;
  const paint = () => {
    const ctx = canvas.getContext('2d');
    const data = ctx.createImageData(W, H);
    const px = data.data;
    const rgb = objects.map((o) => o.color.rgb);
    for (let i = 0, p = 0; i < labels.length; i++, p += 4) {
      const l = labels[i];
      if (!l) continue;
      const c = rgb[l - 1];
      px[p] = c[0]; px[p + 1] = c[1]; px[p + 2] = c[2];
      const a = highlight < 0 ? opacity : l - 1 === highlight ? Math.min(1, opacity + 0.3) : opacity * 0.25;
      px[p + 3] = Math.round(a * 255);
    }
    ctx.putImageData(data, 0, 0);
    figure.querySelectorAll('[data-k]').forEach((g) => g.classList.toggle('dim', highlight >= 0 && Number(g.dataset.k) !== highlight));
  };

  const font = Math.max(W, H) / 40; // marker sizes, in image pixels
  for (const o of objects) {
    const g = svg('g', { dataset: { k: o.k }, style: `--c: ${o.color.css}` });
    const b = o.inst.bbox;
    if (b) g.append(svg('rect', { class: 'bbox', x: b[0], y: b[1], width: b[2], height: b[3] }));
    if (o.centroid && o.angle !== null && o.half > 0) {
      const t = (o.angle * Math.PI) / 180, dx = Math.cos(t) * o.half, dy = -Math.sin(t) * o.half; // y points down
      const [cx, cy] = o.centroid;
      g.append(svg('line', { class: 'axis', x1: cx - dx, y1: cy - dy, x2: cx + dx, y2: cy + dy }));
    }
    if (o.centroid) {
      g.append(svg('circle', { class: 'centroid', cx: o.centroid[0], cy: o.centroid[1], r: Math.max(2, font / 5) }));
      const t = tag(o.centroid[0], o.centroid[1], `#${o.id}`);
      t.dataset.k = String(o.k);
      tags.append(t);
    }
    vectors.append(g);
  }
  if (isOrientation && Number.isFinite(r.degree)) {
    const mark = angleMark(r, objects[0], W, H);
    vectors.append(mark.el);
    tags.append(tag(mark.labelAt[0], mark.labelAt[1], fmtDeg(r.degree), 'mask-degree'));
  }
  paint();

  const rows = objects.map((o) => {
    const tr = h('tr', { tabindex: '0', dataset: { k: o.k } },
      h('td', {}, h('span', { class: 'swatch', style: `background: ${o.color.css}`, 'aria-hidden': 'true' }), ` #${o.id}`),
      h('td', {}, o.inst.class ?? '—'),
      h('td', {}, Number.isFinite(o.inst.score) ? o.inst.score.toFixed(2) : '—'),
      h('td', {}, String(o.area)),
      h('td', {}, o.angle !== null ? `${o.angle.toFixed(1)}°` : '—'),
      h('td', {}, o.elong ? o.elong.toFixed(2) : '—'));
    const on = () => { highlight = o.k; paint(); };
    const off = () => { highlight = -1; paint(); };
    tr.addEventListener('pointerenter', on);
    tr.addEventListener('pointerleave', off);
    tr.addEventListener('focus', on);
    tr.addEventListener('blur', off);
    return tr;
  });
  const table = objects.length ? h('div', { class: 'table-wrap' }, h('table', { class: 'instances' },
    h('caption', {}, `${objects.length} object${objects.length === 1 ? '' : 's'}`),
    h('thead', {}, h('tr', {}, ['Id', 'Class', 'Score', 'Area (px)', 'Angle', 'Elongation'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', {}, rows))) : h('p', { class: 'muted' }, 'No objects were found.');

  const show = h('input', { type: 'checkbox', id: `${job.id}-masks`, checked: true });
  show.addEventListener('change', () => { canvas.hidden = !show.checked; });
  const op = h('input', { type: 'range', id: `${job.id}-opacity`, min: '0.1', max: '0.9', step: '0.1', value: '0.5' });
  op.addEventListener('input', () => { opacity = Number(op.value); paint(); });

  const headline = isOrientation
    ? h('div', {},
      h('p', { class: 'degree' }, 'Orientation ', h('strong', { class: 'degree-value' }, `${fmtDeg(r.degree)}`),
        ' counter-clockwise from horizontal', Number.isFinite(r.elongation) ? ` · elongation ${r.elongation.toFixed(2)}` : ''),
      r.found === false || r.reliable === false || r.note
        ? h('p', { class: 'warning' }, r.note ?? (r.found === false ? 'No object was found.' : 'The object is nearly round: its angle means little.'))
        : null)
    : h('p', { class: 'summary' }, `${r.count ?? objects.length} objects · engine ${r.engine ?? '?'} · ${W}×${H}`);
  return {
    el: h('div', { class: 'view view-masks' }, headline, figure,
      h('div', { class: 'controls' },
        h('div', { class: 'field-check' }, show, h('label', { for: show.id }, 'Masks')),
        h('div', { class: 'field' }, h('label', { for: op.id }, 'Mask opacity'), op)),
      table),
  };
}

/** The instances of a segment result, or the object an orientation result measured. */
function instancesOf(r) {
  if (Array.isArray(r.instances)) return r.instances;
  if (Array.isArray(r.masks)) return r.masks;
  for (const k of ['instance', 'object', 'mask']) if (r[k] && typeof r[k] === 'object') return [r[k]];
  if (r.mask_rle) return [r];
  return [];
}

/** For orientation: a horizontal reference and an arc from it to the axis; where to put the degree. */
function angleMark(r, obj, W, H) {
  const [cx, cy] = r.centroid ?? obj?.centroid ?? [W / 2, H / 2];
  const len = Math.max(obj?.half ?? 0, Math.min(W, H) / 4);
  const t = (r.degree * Math.PI) / 180;
  const rad = len * 0.6;
  const ex = cx + Math.cos(t) * rad, ey = cy - Math.sin(t) * rad;
  const sweep = r.degree > 0 ? 0 : 1; // counter-clockwise on screen is SVG's negative sweep
  const mid = t / 2;
  return {
    el: svg('g', { class: 'angle-mark' },
      svg('line', { class: 'reference', x1: cx - len, y1: cy, x2: cx + len, y2: cy }),
      svg('line', { class: 'axis main-axis', x1: cx - Math.cos(t) * len, y1: cy + Math.sin(t) * len, x2: cx + Math.cos(t) * len, y2: cy - Math.sin(t) * len }),
      svg('path', { class: 'arc', d: `M ${cx + rad} ${cy} A ${rad} ${rad} 0 0 ${sweep} ${ex} ${ey}` })),
    // Just outside the arc, halfway between the horizontal and the axis.
    labelAt: [cx + Math.cos(mid) * rad * 1.25, cy - Math.sin(mid) * rad * 1.25],
  };
}

const fmtDeg = (d) => (Number.isFinite(d) ? `${Number(d).toFixed(1)}°` : '—');

/** Distinct colours by the golden angle around the hue circle. */
function colorOf(k) {
  const hue = (k * 137.508 + 20) % 360;
  const rgb = hslToRgb(hue / 360, 0.75, 0.5);
  return { rgb, css: `rgb(${rgb.join(' ')})` };
}

function hslToRgb(hh, s, l) {
  const f = (n) => {
    const k = (n + hh * 12) % 12;
    const a = s * Math.min(l, 1 - l);
    return Math.round(255 * (l - a * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}
