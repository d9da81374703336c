import { h, replace } from '../lib/dom.js';
import { bytes, clock, duration } from '../lib/format.js';
import { downloadLink } from '../outputs.list.js';

/** Shown while the job runs: a recording's fragments can be played as soon as each is stored. */
export const live = true;

/** Types Chromium, Firefox and Safari cannot play in a <video> element (MPEG-TS is the common one). */
const UNPLAYABLE = new Set(['video/mp2t', 'video/x-matroska', 'video/x-flv', 'video/avi', 'video/x-msvideo']);

/**
 * `download`, `download-video`, `record-stream`: a player for the chosen file and the list of files
 * (a recording's fragments, in order, with their start and length). The list grows while the job
 * runs; when a fragment ends the next one plays, so a recording can be watched as it is made.
 */
export function render(job, { mediaUrl }) {
  const root = h('div', { class: 'view view-media' });
  const info = h('div', { class: 'media-info' });
  const stage = h('div', { class: 'media-stage' });
  const list = h('ol', { class: 'fragments', 'aria-label': 'Files' });
  const status = h('p', { class: 'muted', role: 'status' });
  root.append(info, stage, h('h3', {}, job.processor === 'record-stream' ? 'Fragments' : 'Files'), list, status);

  let current = null;
  let player = null;
  let latest = job;
  const items = new Map();

  const playable = (o) => /^(video|audio|image)\//.test(o.mime) && !UNPLAYABLE.has(o.mime.split(';')[0]);

  const files = (j) => {
    const media = j.outputs.filter((o) => /^(video|audio|image)\//.test(o.mime) || j.processor === 'download');
    // Fragments have numbered names (fragment_000.mp4…): natural order is recording order.
    return media.sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }));
  };

  const describe = (j, o) => {
    const frag = j.result?.fragments?.find((f) => f.name === o.name);
    const item = j.result?.items?.find((i) => i.name === o.name);
    const parts = [];
    if (frag) parts.push(`${duration(frag.duration)} from ${clock(frag.start)}`);
    if (item?.duration) parts.push(clock(item.duration));
    if (item?.width && item?.height) parts.push(`${item.width}×${item.height}`);
    parts.push(o.mime.split(';')[0], bytes(o.size));
    return parts.join(' · ');
  };

  async function play(o, autoplay) {
    current = o.name;
    for (const [name, it] of items) it.button.setAttribute('aria-pressed', String(name === o.name));
    if (!playable(o)) {
      replace(stage, h('p', { class: 'muted' }, `${o.name} (${o.mime.split(';')[0]}) cannot be played in the browser; download it to play it in VLC or mpv.`));
      player = null;
      return;
    }
    const kind = o.mime.startsWith('image/') ? 'img' : o.mime.startsWith('audio/') ? 'audio' : 'video';
    if (!player || player.tagName.toLowerCase() !== kind) {
      player = kind === 'img' ? h('img', { alt: o.name }) : h(kind, { controls: true, preload: 'metadata', playsinline: true });
      if (kind !== 'img') player.addEventListener('ended', playNext);
      replace(stage, player);
    }
    player.setAttribute('aria-label', `Playing ${o.name}`);
    player.dataset.name = o.name;
    player.src = await mediaUrl(o.url);
    if (autoplay && kind !== 'img') player.play().catch(() => {});
  }

  function playNext() {
    const all = files(latest);
    const i = all.findIndex((o) => o.name === current);
    const next = all.slice(i + 1).find(playable);
    if (next) play(next, true);
  }

  function update(j) {
    latest = j;
    replace(info, summary(j));
    const all = files(j);
    for (const o of all) {
      let it = items.get(o.name);
      if (!it) {
        const button = h('button', { type: 'button', 'aria-pressed': 'false', 'aria-label': `Play ${o.name}` }, 'Play');
        button.addEventListener('click', () => play(latest.outputs.find((x) => x.name === o.name) ?? o, true));
        if (!playable(o)) button.disabled = true;
        const meta = h('span', { class: 'file-meta' });
        it = { button, meta, el: h('li', { dataset: { name: o.name } }, button, ' ', h('span', { class: 'file-name' }, o.name), ' ', meta, ' ', downloadLink(o.url, o.name, 'Download', { 'aria-label': `Download ${o.name}` })) };
        items.set(o.name, it);
      }
      it.meta.textContent = describe(j, o);
    }
    all.forEach((o, i) => { const el = items.get(o.name).el; if (list.children[i] !== el) list.insertBefore(el, list.children[i] ?? null); });
    status.textContent = j.status === 'running'
      ? `Recording… ${all.length} ${all.length === 1 ? 'file' : 'files'} so far; each can be played now.`
      : j.result?.message ?? '';
    if (!current && all.length) {
      const first = all.find(playable) ?? all[0];
      play(first, false);
    }
  }

  update(job);
  return { el: root, update, destroy() { player?.pause?.(); } };
}

function summary(j) {
  const r = j.result ?? {};
  const bits = [];
  if (j.processor === 'download-video') {
    if (r.title) bits.push(h('strong', {}, r.title));
    if (r.uploader) bits.push(` by ${r.uploader}`);
    if (r.duration) bits.push(` · ${clock(r.duration)}`);
    if (r.sourceUrl) bits.push(' · ', h('a', { href: r.sourceUrl, rel: 'noreferrer noopener', target: '_blank' }, 'source page'));
  } else if (j.processor === 'record-stream') {
    if (Number.isFinite(r.recordedSeconds)) bits.push(`Recorded ${duration(r.recordedSeconds)} of ${duration(r.requestedSeconds)}`);
    if (r.endReason && r.endReason !== 'completed') bits.push(` · ended early: ${r.endReason.replace('-', ' ')}`);
    if (r.variant?.height) bits.push(` · ${r.variant.width}×${r.variant.height}`);
  } else if (j.processor === 'download') {
    if (r.name) bits.push(h('strong', {}, r.name));
    if (r.mime) bits.push(` · ${r.mime}`);
    if (r.size) bits.push(` · ${bytes(r.size)}`);
    if (r.finalUrl && r.finalUrl !== r.url) bits.push(' · redirected to ', h('a', { href: r.finalUrl, rel: 'noreferrer noopener', target: '_blank' }, r.finalUrl));
    if (r.warning) bits.push(h('p', { class: 'warning' }, r.warning));
  }
  return bits.length ? h('p', { class: 'summary' }, bits) : null;
}
