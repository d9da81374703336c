import { api, ApiError, errorText } from './api.client.js';
import { h } from './lib/dom.js';
import { announce } from './announce.js';
import { isTerminal } from './jobs.model.js';

/**
 * Cancel, retry and delete buttons for a job, shown by its state. Used by the list rows and the
 * detail panel alike; the model is updated from the server's answer at once (the event stream
 * confirms it moments later).
 */
export function actionButtons(job, model, { label }) {
  const name = label(job);
  const wrap = h('div', { class: 'actions' });
  const act = async (btn, verb, fn) => {
    btn.disabled = true;
    try {
      await fn();
    } catch (err) {
      announce(`Could not ${verb} ${name}: ${errorText(err)}`, 'error');
    } finally {
      btn.disabled = false;
    }
  };
  const id = encodeURIComponent(job.id);
  if (!isTerminal(job.status)) {
    const b = h('button', { type: 'button', class: 'btn-cancel', 'aria-label': `Cancel ${name}` }, 'Cancel');
    b.addEventListener('click', () => act(b, 'cancel', async () => {
      model.upsert(await api(`/v1/jobs/${id}/cancel`, { method: 'POST' }));
      announce(`Cancel requested for ${name}`);
    }));
    wrap.append(b);
  }
  if (job.status === 'failed' || job.status === 'canceled') {
    const b = h('button', { type: 'button', class: 'btn-retry', 'aria-label': `Retry ${name}` }, 'Retry');
    b.addEventListener('click', () => act(b, 'retry', async () => {
      model.upsert(await api(`/v1/jobs/${id}/retry`, { method: 'POST' }));
      announce(`${name} queued again`);
    }));
    wrap.append(b);
  }
  const del = h('button', { type: 'button', class: 'btn-delete', 'aria-label': `Delete ${name}` }, 'Delete');
  del.addEventListener('click', () => {
    if (!confirm(`Delete ${name} and its files?${isTerminal(job.status) ? '' : ' It is still running: it will be canceled.'}`)) return;
    act(del, 'delete', async () => {
      try {
        await api(`/v1/jobs/${id}`, { method: 'DELETE' });
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
      model.remove(job.id);
      announce(`${name} deleted`);
    });
  });
  wrap.append(del);
  return wrap;
}

/** A short name for a job: processor and input file name or URL host. */
export function jobLabel(job) {
  return `${job.processor} job “${inputName(job)}”`;
}

export function inputName(job) {
  if (job.input?.kind === 'file') return job.input.name;
  if (job.input?.url) {
    try {
      const u = new URL(job.input.url);
      const last = u.pathname.split('/').filter(Boolean).pop();
      return last ? `${u.host}/…/${decodeURIComponent(last)}` : u.host;
    } catch { return job.input.url; }
  }
  return job.id.slice(0, 8);
}

/**
 * The job's error in plain words, with its stable code.
 * @param {{ code: string, message?: string } | null | undefined} error
 * @param {{ status?: string }} [job]
 */
export function errorView(error, { status } = {}) {
  if (!error) return null;
  const verb = status === 'canceled' ? 'Canceled' : status === 'queued' ? 'Will retry after' : 'Failed';
  return h('p', { class: 'error', role: status === 'canceled' ? null : 'alert' },
    h('strong', {}, `${verb}: `), error.message || 'no details', ' ', h('code', { class: 'code' }, error.code));
}
