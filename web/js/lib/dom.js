/**
 * A tiny element builder. Every piece of text goes in through `textContent`, never `innerHTML`,
 * so file names, URLs and OCR text from jobs cannot inject markup.
 *
 *   h('a', { href: url, class: 'btn' }, 'Download')
 *
 * Attributes: `class`, `style` (string), `dataset` (object), `on<event>` (listener), booleans
 * (true → present, false/null/undefined → absent), anything else as a string attribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements. */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) el.value = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export const $ = (sel, root = document) => root.querySelector(sel);

/**
 * The element with this id. The page's markup is fixed, so a missing one is a bug: it throws
 * rather than handing back null.
 * @param {string} id
 * @returns {HTMLElement}
 */
export function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el;
}
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

let uid = 0;
/** A unique id for label/aria wiring. */
export const nextId = (prefix = 'mf') => `${prefix}-${++uid}`;
