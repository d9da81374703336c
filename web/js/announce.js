import { h } from './lib/dom.js';

/**
 * Short messages for everyone: shown in the toast area (a polite live region, so screen readers
 * read them too) and gone after a few seconds. Errors stay until dismissed.
 */
export function announce(message, kind = 'info') {
  const region = document.getElementById('toasts');
  if (!region) return;
  const close = h('button', { type: 'button', class: 'toast-close', 'aria-label': 'Dismiss' }, '×');
  const el = h('div', { class: `toast toast-${kind}` }, h('span', {}, message), close);
  close.addEventListener('click', () => el.remove());
  region.append(el);
  while (region.children.length > 4) region.firstElementChild?.remove();
  if (kind !== 'error') setTimeout(() => el.remove(), 5000);
}
