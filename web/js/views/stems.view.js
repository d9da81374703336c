import { fetchBytes } from '../api.client.js';
import { h } from '../lib/dom.js';
import { bytes, duration } from '../lib/format.js';
import { decodeAudio, drawPeaks, peaks } from '../lib/waveform.js';
import { downloadLink } from '../outputs.list.js';

/**
 * `separate`: one player per stem (and the original mix to compare), each with the waveform of its
 * decoded audio. Clicking or using the arrow keys on a waveform seeks its player; a line follows
 * the playback. Starting one stem pauses the others.
 */
export function render(job, { mediaUrl }) {
  const r = job.result ?? {};
  const byName = new Map(job.outputs.map((o) => [o.name, o]));
  // The result lists the stems in order; outputs are the fallback (any audio file).
  const stems = (r.stems?.length ? r.outputs ?? r.stems.map((s) => job.outputs.find((o) => o.name.startsWith(`${s}.`))?.name) : null)
    ?.map((n) => byName.get(n)).filter(Boolean)
    ?? job.outputs.filter((o) => o.mime.startsWith('audio/'));
  const tracks = stems.map((o) => ({ label: o.name.replace(/\.[^.]+$/, '').replace(/_/g, ' '), url: o.url, name: o.name, size: o.size, mime: o.mime }));
  if (job.input?.kind === 'file') tracks.push({ label: 'original', url: job.input.url, name: job.input.name, size: job.input.size, mime: job.input.mime, original: true });

  const players = [];
  let cancelled = false;
  const rows = tracks.map((t) => {
    const audio = h('audio', { controls: true, preload: 'metadata', 'aria-label': `Play ${t.label}` });
    mediaUrl(t.url).then((u) => { audio.src = u; });
    players.push(audio);
    const canvas = h('canvas', { class: 'wave', role: 'slider', tabindex: '0', 'aria-label': `Waveform of ${t.label}: seek`, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0', dataset: { state: 'loading' } });
    const head = h('div', { class: 'playhead', 'aria-hidden': 'true' });
    const wave = h('div', { class: 'wave-box' }, canvas, head);
    const seekTo = (f) => { if (audio.duration) audio.currentTime = Math.max(0, Math.min(1, f)) * audio.duration; };
    canvas.addEventListener('click', (e) => { const b = canvas.getBoundingClientRect(); seekTo((e.clientX - b.left) / b.width); });
    canvas.addEventListener('keydown', (e) => {
      if (!audio.duration) return;
      const step = { ArrowRight: 5, ArrowLeft: -5, PageUp: 30, PageDown: -30 }[e.key];
      if (step !== undefined) { e.preventDefault(); audio.currentTime = Math.max(0, Math.min(audio.duration, audio.currentTime + step)); }
      else if (e.key === ' ' || e.key === 'Enter') { e.preventDefault(); if (audio.paused) audio.play(); else audio.pause(); }
    });
    audio.addEventListener('timeupdate', () => {
      const f = audio.duration ? audio.currentTime / audio.duration : 0;
      head.style.left = `${(f * 100).toFixed(2)}%`;
      canvas.setAttribute('aria-valuenow', String(Math.round(f * 100)));
      canvas.setAttribute('aria-valuetext', `${duration(audio.currentTime)} of ${duration(audio.duration)}`);
    });
    audio.addEventListener('play', () => { for (const other of players) if (other !== audio) other.pause(); });
    const fmt = t.mime.split(';')[0].replace('audio/', '').replace('x-', '');
    return {
      t, canvas,
      el: h('figure', { class: `stem${t.original ? ' stem-original' : ''}`, dataset: { stem: t.label } },
        h('figcaption', {}, h('strong', {}, t.label), ' ',
          downloadLink(t.url, t.name, `Download (${fmt}, ${bytes(t.size)})`, { 'aria-label': `Download ${t.label}` })),
        wave, audio),
    };
  });

  // Decode one file at a time: a decoded song is large (about 10 MB a minute per stem).
  (async () => {
    for (const row of rows) {
      if (cancelled) return;
      try {
        const audio = await decodeAudio(await fetchBytes(row.t.url));
        if (cancelled) return;
        row.peaks = peaks(audio, 2000);
        drawPeaks(row.canvas, row.peaks, waveColor(row.canvas, row.t.original));
        row.canvas.dataset.state = 'drawn';
        row.canvas.dataset.duration = audio.duration.toFixed(3);
      } catch {
        row.canvas.dataset.state = 'failed';
        row.canvas.setAttribute('aria-label', `${row.t.label}: the browser could not decode this audio for a waveform`);
      }
    }
  })();

  // Redraw on resize, from the peaks already computed.
  const ro = new ResizeObserver(() => { for (const row of rows) if (row.peaks) drawPeaks(row.canvas, row.peaks, waveColor(row.canvas, row.t.original)); });
  const list = h('div', { class: 'stems' }, rows.map((r2) => r2.el));
  ro.observe(list);

  const info = [r.model && `model ${r.model}`, Number.isFinite(r.duration) && duration(r.duration), r.shifts !== undefined && `${r.shifts} shift${r.shifts === 1 ? '' : 's'}`,
    r.timings?.totalMs && `separated in ${duration(r.timings.totalMs / 1000)}`].filter(Boolean).join(' · ');
  return {
    el: h('div', { class: 'view view-stems' }, info ? h('p', { class: 'summary' }, info) : null, list),
    destroy() {
      cancelled = true;
      ro.disconnect();
      for (const p of players) p.pause();
    },
  };
}

function waveColor(canvas, original) {
  const css = getComputedStyle(canvas);
  return css.getPropertyValue(original ? '--wave-muted' : '--wave').trim() || '#3a6ea5';
}
