import { api } from './api.client.js';
import { h } from './lib/dom.js';

const REFRESH_MS = 5000;

/**
 * The Workers panel: the live worker processes (node, processors, jobs running, last heartbeat)
 * and each processor's queue, from GET /v1/workers, refreshed every few seconds while visible.
 * @param {HTMLElement} panel
 */
export function initWorkersPanel(panel) {
  const body = /** @type {HTMLElement} */ (panel.querySelector('.workers-body'));
  let timer = 0;

  async function refresh() {
    try {
      /** @type {{ workers: Array<{ id: string, node: string, pid: number, processors: string[], running: string[], lastSeenAt: string }>, queues: Record<string, { queued: number, running: number }> }} */
      const data = await api('/v1/workers');
      render(data);
    } catch (err) {
      body.replaceChildren(h('p', { class: 'error' }, `Workers unavailable: ${String(/** @type {Error} */ (err).message ?? err)}`));
    }
  }

  /** @param {{ workers: Array<{ id: string, node: string, pid: number, processors: string[], running: string[], lastSeenAt: string }>, queues: Record<string, { queued: number, running: number }> }} data */
  function render(data) {
    const workers = data.workers.length
      ? h('table', { class: 'workers-table' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Node'), h('th', {}, 'PID'), h('th', {}, 'Processors'), h('th', {}, 'Running'), h('th', {}, 'Last heartbeat'))),
        h('tbody', {}, ...data.workers.map((w) => h('tr', { dataset: { workerId: w.id } },
          h('td', {}, w.node), h('td', {}, String(w.pid)), h('td', {}, w.processors.join(', ')),
          h('td', { class: 'num' }, String(w.running.length)), h('td', {}, ago(w.lastSeenAt))))))
      : h('p', { class: 'muted' }, 'No worker is running: jobs wait in the queue.');
    const busy = Object.entries(data.queues).filter(([, q]) => q.queued || q.running);
    const queues = h('p', { class: 'queues' }, busy.length
      ? busy.map(([name, q]) => `${name}: ${q.queued} queued, ${q.running} running`).join(' · ')
      : 'Queues are empty.');
    body.replaceChildren(workers, queues);
  }

  /** @param {string} iso */
  function ago(iso) {
    const s = Math.max(0, Math.round((Date.now() - Date.parse(iso)) / 1000));
    return s < 2 ? 'just now' : `${s} s ago`;
  }

  const details = /** @type {HTMLDetailsElement} */ (panel);
  const tick = () => { if (details.open && !document.hidden) void refresh(); };
  details.addEventListener('toggle', tick);
  timer = window.setInterval(tick, REFRESH_MS);
  tick();
  return () => window.clearInterval(timer);
}
