import { h } from '../lib/dom.js';
import { bytes, duration } from '../lib/format.js';
import { downloadLink } from '../outputs.list.js';

/**
 * `upscale`: before/after. The input, stretched by the browser to the output's size, lies over the
 * upscaled image and is cut at the divider: drag on the picture or use the slider (arrow keys) to
 * move it. Zoom enlarges both together inside a scrollable frame; "Pixels" turns off the browser's
 * smoothing, to see what the network added rather than what interpolation would give.
 */
export function render(job, { mediaUrl }) {
  const r = job.result ?? {};
  const out = job.outputs.find((o) => o.name === r.output?.name) ?? job.outputs.find((o) => o.mime.startsWith('image/'));
  if (!out) return { el: h('p', {}, 'This job has no image output.') };
  const ow = r.output?.width, oh = r.output?.height;

  const after = h('img', { class: 'after', alt: `Upscaled (${ow}×${oh})`, width: ow, height: oh, draggable: 'false' });
  const before = h('img', { class: 'before', alt: `Original (${r.input?.width}×${r.input?.height})`, draggable: 'false' });
  mediaUrl(out.url).then((u) => { after.src = u; });
  mediaUrl(job.input.url).then((u) => { before.src = u; });
  const handle = h('div', { class: 'compare-handle', 'aria-hidden': 'true' });
  const labels = h('div', { class: 'compare-labels', 'aria-hidden': 'true' }, h('span', {}, 'before'), h('span', {}, 'after'));
  const stage = h('div', { class: 'compare-stage' }, after, before, handle);
  const frame = h('div', { class: 'compare-frame' }, stage);
  const root = h('div', { class: 'view view-compare' });
  root.style.setProperty('--pos', '50%');
  if (ow && oh) stage.style.aspectRatio = `${ow} / ${oh}`;
  // At 1×, as wide as the panel but never taller than most of the screen.
  const baseWidth = ow && oh ? `min(100%, calc(70vh * ${ow / oh}))` : '100%';
  stage.style.width = baseWidth;

  const slider = h('input', { type: 'range', min: '0', max: '100', step: '0.5', value: '50', id: `${job.id}-divider`, 'aria-valuetext': 'divider at 50%' });
  const setPos = (v) => {
    const p = Math.max(0, Math.min(100, v));
    root.style.setProperty('--pos', `${p}%`);
    slider.value = String(p);
    slider.setAttribute('aria-valuetext', `divider at ${Math.round(p)}%: left of it the original, right of it the upscaled image`);
  };
  slider.addEventListener('input', () => setPos(Number(slider.value)));

  // Dragging on the picture moves the divider (a pointer capture keeps it working outside the frame).
  let dragging = false;
  const fromPointer = (e) => { const b = stage.getBoundingClientRect(); setPos(((e.clientX - b.left) / b.width) * 100); };
  stage.addEventListener('pointerdown', (e) => { if (e.button !== 0) return; dragging = true; stage.setPointerCapture(e.pointerId); fromPointer(e); });
  stage.addEventListener('pointermove', (e) => { if (dragging) fromPointer(e); });
  stage.addEventListener('pointerup', () => { dragging = false; });
  stage.addEventListener('pointercancel', () => { dragging = false; });

  const zoom = h('input', { type: 'range', min: '1', max: '8', step: '0.5', value: '1', id: `${job.id}-zoom` });
  const zoomOut = h('output', { for: zoom.id }, '1×');
  const setZoom = (z, anchor) => {
    const old = Number(root.dataset.zoom || 1);
    const zv = Math.max(1, Math.min(8, z));
    // Keep the point under the anchor (or the frame's centre) in place.
    const b = frame.getBoundingClientRect();
    const ax = anchor ? anchor.x - b.left : b.width / 2, ay = anchor ? anchor.y - b.top : b.height / 2;
    const fx = (frame.scrollLeft + ax) / old, fy = (frame.scrollTop + ay) / old;
    root.dataset.zoom = String(zv);
    stage.style.width = `calc(${zv} * ${baseWidth})`;
    zoom.value = String(zv);
    zoomOut.textContent = `${zv}×`;
    frame.scrollLeft = fx * zv - ax;
    frame.scrollTop = fy * zv - ay;
  };
  zoom.addEventListener('input', () => setZoom(Number(zoom.value)));
  frame.addEventListener('wheel', (e) => {
    if (!e.ctrlKey && !e.metaKey) return; // plain wheel scrolls the page/frame as usual
    e.preventDefault();
    setZoom(Number(root.dataset.zoom || 1) * (e.deltaY < 0 ? 1.25 : 0.8), { x: e.clientX, y: e.clientY });
  }, { passive: false });

  const pixels = h('input', { type: 'checkbox', id: `${job.id}-pixels` });
  pixels.addEventListener('change', () => root.classList.toggle('pixelated', pixels.checked));

  const facts = [
    r.input && `${r.input.width}×${r.input.height} → ${ow}×${oh}`,
    r.scale && `${r.scale}×`, r.model && `model ${r.model}`, r.runtime, r.timeMs && `in ${duration(r.timeMs / 1000)}`,
  ].filter(Boolean).join(' · ');
  root.append(
    h('p', { class: 'summary' }, facts),
    labels, frame,
    h('div', { class: 'controls' },
      h('div', { class: 'field' }, h('label', { for: slider.id }, 'Before / after'), slider),
      h('div', { class: 'field' }, h('label', { for: zoom.id }, 'Zoom'), h('div', { class: 'row' }, zoom, zoomOut)),
      h('div', { class: 'field-check' }, pixels, h('label', { for: pixels.id }, 'Pixels (no smoothing)'))),
    h('p', {}, downloadLink(out.url, out.name, `Download ${out.name} (${bytes(out.size)})`)));
  root.dataset.zoom = '1';
  return { el: root };
}
