import { api, errorText } from './api.client.js';
import { h } from './lib/dom.js';

/**
 * Chains in the job detail: "Send to…" on an output (only the processors that accept its type),
 * and the chain a job belongs to, as one line of linked jobs with their states.
 */

/**
 * @param {string} mime
 * @param {readonly string[]} accept
 */
export function accepts(mime, accept) {
  const m = mime.split(';')[0].trim();
  return accept.some((p) => p === '*' || p === m || (p.endsWith('/*') && m.startsWith(p.slice(0, -1))));
}

/**
 * A "Send to…" control for one output: picks a processor that accepts the output's type and
 * submits a job that takes this output as its input; the new job opens.
 * @param {{ id: string }} job
 * @param {{ name: string, mime: string }} output
 * @param {Array<{ name: string, title?: string, input: { kind: string, accept?: readonly string[] } }>} processors
 */
export function sendTo(job, output, processors) {
  const fit = processors.filter((p) => p.input.kind === 'file' && accepts(output.mime, p.input.accept ?? []));
  if (!fit.length) return null;
  const select = h('select', { 'aria-label': `Processor to send ${output.name} to` },
    fit.map((p) => h('option', { value: p.name }, p.title ?? p.name)));
  const status = h('span', { class: 'send-status', role: 'status' });
  const button = h('button', { type: 'button', class: 'send' }, 'Send');
  button.addEventListener('click', async () => {
    button.disabled = true;
    status.textContent = 'Sending…';
    try {
      const next = await api('/v1/jobs', { method: 'POST', json: { processor: select.value, input: { job: job.id, output: output.name } } });
      status.textContent = '';
      location.hash = `job=${next.id}`;
    } catch (err) {
      status.textContent = `Not sent: ${errorText(err)}`;
    } finally {
      button.disabled = false;
    }
  });
  return h('span', { class: 'send-to' }, h('span', { class: 'hint-inline' }, 'Send to'), select, button, status);
}

/**
 * The chain this job is part of (through `meta.chain`, or its upstream job): each job a link with
 * its state, in order. Renders into `into` once loaded.
 * @param {{ id: string, meta?: Record<string, unknown>, upstream?: { job: string, output: string } | null }} job
 * @param {HTMLElement} into
 */
export async function renderChain(job, into) {
  let steps = [];
  try {
    if (typeof job.meta?.chain === 'string') {
      steps = (await api(`/v1/chains/${encodeURIComponent(job.meta.chain)}`)).jobs;
    } else if (job.upstream) {
      steps = [await api(`/v1/jobs/${encodeURIComponent(job.upstream.job)}`), job];
    }
  } catch {
    return;
  }
  if (steps.length < 2) return;
  into.replaceChildren(h('ol', { class: 'chain', 'aria-label': 'Chain of jobs' },
    steps.map((s, i) => h('li', { class: s.id === job.id ? 'current' : '' },
      i ? h('span', { class: 'arrow', 'aria-hidden': 'true' }, '→ ') : null,
      h('a', { href: `#job=${s.id}` }, s.processor), ' ',
      h('span', { class: `badge badge-${s.status}` }, s.status)))));
}
