import { h } from '../lib/dom.js';

/** Processors without a dedicated view: the result's top-level values as a list. */
export function render(job) {
  const r = job.result;
  if (!r || typeof r !== 'object') return { el: h('p', {}, r == null ? 'Done.' : String(r)) };
  return {
    el: h('dl', { class: 'facts result-generic' }, Object.entries(r).map(([k, v]) => [
      h('dt', {}, k),
      h('dd', {}, typeof v === 'object' && v !== null ? h('code', {}, JSON.stringify(v)) : String(v)),
    ])),
  };
}
