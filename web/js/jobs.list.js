import { h, replace } from './lib/dom.js';
import { clock, pct, when } from './lib/format.js';
import { actionButtons, errorView, inputName, jobLabel } from './job.actions.js';
import { elapsed, isTerminal, STATUSES } from './jobs.model.js';

/**
 * The live job list: one row per job with its status, a progress bar, the stage text, elapsed and
 * remaining time, and its actions; filters by processor and status kept in the page URL (so a
 * reload shows the same list). Rows are updated in place, so focus and hover survive updates.
 */
export class JobsList {
  constructor(model, { list, empty, more, filterProcessor, filterStatus, processors, selectedId }) {
    this.model = model;
    this.listEl = list;
    this.emptyEl = empty;
    this.moreEl = more;
    this.rows = new Map();
    this.selectedId = selectedId;

    replace(filterProcessor, h('option', { value: '' }, 'All processors'), processors.map((p) => h('option', { value: p.name }, p.name)));
    replace(filterStatus, h('option', { value: '' }, 'Any status'), STATUSES.map((s) => h('option', { value: s }, s)));
    filterProcessor.value = model.filters.processor;
    filterStatus.value = model.filters.status;
    const onFilter = () => {
      const f = { processor: filterProcessor.value, status: filterStatus.value };
      const url = new URL(location.href);
      for (const [k, v] of Object.entries(f)) { if (v) url.searchParams.set(k, v); else url.searchParams.delete(k); }
      history.replaceState(null, '', url);
      model.setFilters(f).catch(() => {});
    };
    filterProcessor.addEventListener('change', onFilter);
    filterStatus.addEventListener('change', onFilter);
    more.addEventListener('click', () => model.loadMore().catch(() => {}));

    model.subscribe((job) => (job ? this.updateRow(job) : this.renderAll()));
    // Elapsed and remaining times move on their own.
    setInterval(() => {
      for (const [id, row] of this.rows) {
        const job = model.jobs.get(id);
        if (job && !isTerminal(job.status)) this.updateTimes(row, job);
      }
    }, 1000);
  }

  select(id) {
    this.selectedId = id;
    for (const [rid, row] of this.rows) row.el.classList.toggle('selected', rid === id);
  }

  renderAll() {
    const ids = this.model.order;
    const shown = new Set(ids);
    for (const [id, row] of this.rows) if (!shown.has(id)) { row.el.remove(); this.rows.delete(id); }
    const els = ids.map((id) => (this.rows.get(id) ?? this.createRow(this.model.jobs.get(id))).el);
    // Re-append in order (moves existing nodes; no re-creation).
    els.forEach((el, i) => { if (this.listEl.children[i] !== el) this.listEl.insertBefore(el, this.listEl.children[i] ?? null); });
    this.emptyEl.hidden = ids.length > 0 || !this.model.loaded;
    this.moreEl.hidden = !this.model.nextCursor;
  }

  createRow(job) {
    const link = h('a', { href: `#job=${encodeURIComponent(job.id)}`, class: 'job-link' });
    const status = h('span', { class: 'badge' });
    const bar = h('progress', { max: '1', value: '0' });
    const stage = h('span', { class: 'stage' });
    const elapsedEl = h('span', { class: 'elapsed' });
    const remainingEl = h('span', { class: 'remaining' });
    const error = h('div', { class: 'job-error' });
    const actions = h('div', { class: 'job-actions' });
    const el = h('li', { class: 'job', dataset: { id: job.id } },
      h('div', { class: 'job-head' }, link, status),
      bar,
      h('div', { class: 'job-meta' }, stage, elapsedEl, remainingEl),
      error, actions);
    const row = { el, link, status, bar, stage, elapsed: elapsedEl, remaining: remainingEl, error, actions, state: '' };
    this.rows.set(job.id, row);
    this.fill(row, job);
    return row;
  }

  updateRow(job) {
    const row = this.rows.get(job.id);
    if (!row) { if (this.model.order.includes(job.id)) this.renderAll(); return; }
    this.fill(row, job);
  }

  fill(row, job) {
    const name = inputName(job);
    row.el.dataset.status = job.status;
    row.el.classList.toggle('selected', job.id === this.selectedId);
    row.link.textContent = `${job.processor} · ${name}`;
    row.link.title = `${job.id} — created ${when(job.createdAt)}`;
    row.status.textContent = job.status + (job.status === 'running' && job.cancelRequested ? ' (canceling)' : '');
    row.status.className = `badge badge-${job.status}`;
    const p = job.status === 'succeeded' ? 1 : job.progress ?? 0;
    row.bar.value = p;
    row.bar.setAttribute('aria-label', `Progress of ${jobLabel(job)}: ${pct(p)}`);
    row.bar.classList.toggle('indeterminate', job.status === 'queued');
    row.stage.textContent = job.status === 'running' ? `${pct(p)}${job.stage ? ` · ${job.stage}` : ''}` : '';
    this.updateTimes(row, job);
    // Actions and error change only with the status: rebuild them then, not on every progress event.
    const state = `${job.status}|${job.error?.code ?? ''}|${job.cancelRequested}`;
    if (state !== row.state) {
      row.state = state;
      replace(row.error, job.status === 'succeeded' ? null : errorView(job.error, { status: job.status }));
      replace(row.actions, actionButtons(job, this.model, { label: jobLabel }));
    }
  }

  updateTimes(row, job) {
    const e = clock(elapsed(job));
    const rem = this.model.remaining(job);
    row.elapsed.textContent = job.status === 'queued' ? `waiting ${e}` : job.status === 'running' ? `${e} elapsed` : `took ${e}`;
    row.remaining.textContent = rem !== null ? `about ${clock(rem)} left` : '';
  }
}
