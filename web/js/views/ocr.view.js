import { h, svg } from '../lib/dom.js';

/** Tesseract confidence under which a word is marked as doubtful. */
const LOW_CONFIDENCE = 60;

/**
 * `ocr`: the recognised text beside the image, with each word's box drawn over the image. Pointing
 * at a word (in the text or on the image) highlights both; the arrow keys walk the words when the
 * text has focus; "Show all boxes" draws every box at once.
 */
export function render(job, { mediaUrl }) {
  const r = job.result ?? {};
  const W = r.image?.width ?? 1, H = r.image?.height ?? 1;
  const words = [];
  const rects = [];
  const spans = [];

  const layer = svg('svg', { class: 'boxes', viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', 'aria-hidden': 'true' });
  const text = h('div', {
    class: 'ocr-text', tabindex: '0', role: 'group', lang: langTag(r.language),
    'aria-label': 'Recognised text. Arrow keys move from word to word and show its box on the image.',
  });
  for (const block of r.blocks ?? []) {
    const blockEl = h('div', { class: 'ocr-block' });
    for (const line of block.lines ?? []) {
      const lineEl = h('p', { class: 'ocr-line' });
      for (const w of line.words ?? []) {
        const i = words.length;
        words.push(w);
        const low = w.confidence < LOW_CONFIDENCE;
        const b = w.bbox;
        const rect = svg('rect', { x: b.x0, y: b.y0, width: Math.max(1, b.x1 - b.x0), height: Math.max(1, b.y1 - b.y0), class: low ? 'low' : null, dataset: { i } },
          svg('title', {}, `${w.text} (${Math.round(w.confidence)}%)`));
        rects.push(rect);
        layer.append(rect);
        const span = h('span', { class: `word${low ? ' low' : ''}`, id: `${job.id}-w${i}`, dataset: { i }, title: `confidence ${Math.round(w.confidence)}%` }, w.text);
        spans.push(span);
        if (lineEl.childNodes.length) lineEl.append(' ');
        lineEl.append(span);
      }
      blockEl.append(lineEl);
    }
    text.append(blockEl);
  }
  if (!words.length) text.append(h('p', { class: 'muted' }, 'No text was found in this image.'));

  let active = -1;
  const setActive = (i) => {
    if (active >= 0) { rects[active]?.classList.remove('active'); spans[active]?.classList.remove('active'); }
    active = i;
    if (i >= 0) {
      rects[i].classList.add('active');
      spans[i].classList.add('active');
      text.setAttribute('aria-activedescendant', spans[i].id);
    } else text.removeAttribute('aria-activedescendant');
  };
  const indexOf = (e) => Number(e.target.closest?.('[data-i]')?.dataset.i ?? -1);
  text.addEventListener('pointerover', (e) => { const i = indexOf(e); if (i >= 0) setActive(i); });
  text.addEventListener('pointerleave', () => setActive(-1));
  layer.addEventListener('pointerover', (e) => { const i = indexOf(e); if (i >= 0) setActive(i); });
  layer.addEventListener('pointerleave', () => setActive(-1));
  text.addEventListener('focus', () => { if (active < 0 && words.length) setActive(0); });
  text.addEventListener('blur', () => setActive(-1));
  text.addEventListener('keydown', (e) => {
    const n = words.length;
    if (!n) return;
    const to = { ArrowRight: active + 1, ArrowDown: active + 1, ArrowLeft: active - 1, ArrowUp: active - 1, Home: 0, End: n - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    setActive(Math.max(0, Math.min(n - 1, to)));
  });

  const img = h('img', { alt: `The image that was read (${W}×${H})`, width: W, height: H, decoding: 'async' });
  mediaUrl(job.input.url).then((u) => { img.src = u; }).catch(() => { img.alt = 'The input image could not be loaded'; });
  const figure = h('div', { class: 'ocr-figure' }, img, layer);
  figure.style.maxWidth = `min(100%, calc(70vh * ${W / H}))`; // a tall page stays on the screen
  const showAll = h('input', { type: 'checkbox', id: `${job.id}-all-boxes` });
  showAll.addEventListener('change', () => figure.classList.toggle('show-all', showAll.checked));
  const copy = h('button', { type: 'button' }, 'Copy text');
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(r.text ?? ''); copy.textContent = 'Copied'; } catch { copy.textContent = 'Copy failed'; }
    setTimeout(() => { copy.textContent = 'Copy text'; }, 2000);
  });

  const el = h('div', { class: 'view view-ocr' },
    h('p', { class: 'summary' },
      `${plural(r.wordCount ?? words.length, 'word')} in ${plural(r.lineCount ?? 0, 'line')} · mean confidence ${Math.round(r.confidence ?? 0)}% · language ${r.language ?? '?'}`),
    h('div', { class: 'ocr-grid' },
      figure,
      h('div', { class: 'ocr-side' },
        text,
        h('div', { class: 'row' }, h('span', { class: 'field-check' }, showAll, h('label', { for: showAll.id }, 'Show all word boxes')), copy))));
  return { el };
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Tesseract language codes ("eng", "eng+fra") → a BCP 47 tag for the text (the first language). */
function langTag(code) {
  const map = { eng: 'en', fra: 'fr', deu: 'de', spa: 'es', ita: 'it', por: 'pt', nld: 'nl', rus: 'ru', chi_sim: 'zh-Hans', chi_tra: 'zh-Hant', jpn: 'ja', kor: 'ko', ara: 'ar' };
  return map[String(code ?? '').split('+')[0]] ?? null;
}
