import { api, ApiError, errorText, mediaUrl } from './api.client.js';
import { h, replace } from './lib/dom.js';
import { bytes, clock, pct, when } from './lib/format.js';
import { actionButtons, errorView, inputName, jobLabel } from './job.actions.js';
import { elapsed, isTerminal } from './jobs.model.js';
import { outputsList, downloadLink } from './outputs.list.js';
import { loadView } from './views/registry.js';
import { renderChain } from './chain.view.js';

/**
 * The detail panel of one job: its facts, live progress, error, actions, the processor's result
 * view (loaded on demand, so the first page load carries none of them), its files, the live log
 * and the raw result. Opened by the `#job=<id>` address, so a reload shows the same job.
 */
export class JobDetail {
  constructor(model, { panel, placeholder, processors }) {
    /** The panel's parts; build() makes a fresh set for each job shown. */
    this.els = detailParts();
    this.model = model;
    this.panel = panel;
    this.placeholder = placeholder;
    this.processors = new Map(processors.map((p) => [p.name, p]));
    this.id = null;
    this.view = null;
    this.viewKey = '';
    this.state = '';
    this.token = 0;
    model.subscribe((job) => {
      if (!this.id) return;
      const j = job ?? model.jobs.get(this.id);
      if (j && j.id === this.id) this.update(j);
    });
    model.onRemoved((id) => { if (id === this.id) this.close(true); });
  }

  async show(id) {
    if (id === this.id) return;
    const token = ++this.token;
    this.destroyView();
    this.id = id;
    this.panel.hidden = false;
    if (this.placeholder) this.placeholder.hidden = true;
    this.build();
    replace(this.els.title, 'Loading…');
    let job = this.model.jobs.get(id);
    // A job known from the list is a summary, without its result: fetch the whole job.
    if (!job || !('result' in job)) {
      try {
        job = this.model.upsert(await api(`/v1/jobs/${encodeURIComponent(id)}`));
      } catch (err) {
        if (token !== this.token) return;
        replace(this.els.title, 'Job not found');
        const problem = err instanceof ApiError ? { code: err.code, message: err.detail } : { code: 'INTERNAL', message: errorText(err) };
        replace(this.els.error, errorView(problem, { status: 'failed' }));
        return;
      }
    }
    if (token !== this.token) return;
    this.update(job);
  }

  close(deleted = false) {
    this.token++;
    this.destroyView();
    this.id = null;
    this.panel.hidden = true;
    if (this.placeholder) this.placeholder.hidden = false;
    if (location.href.includes('#')) history.replaceState(null, '', location.pathname + location.search);
    if (deleted) this.panel.dispatchEvent(new CustomEvent('closed'));
  }

  destroyView() {
    this.view?.destroy?.();
    this.view = null;
    this.viewKey = '';
    this.state = '';
    this.outKey = '';
    this.rawState = '';
    this.factsKey = '';
  }

  build() {
    const close = h('button', { type: 'button', class: 'close', 'aria-label': 'Close job details' }, '×');
    // Through the address, so the list's selection follows (see main.js's router).
    close.addEventListener('click', () => { location.hash = ''; });
    this.els = detailParts();
    replace(this.panel,
      h('div', { class: 'detail-head' }, this.els.title, close),
      this.els.facts, this.els.progress, this.els.error, this.els.actions,
      this.els.result, this.els.outputs, this.els.log, this.els.raw);
  }

  update(job) {
    const e = this.els;
    const proc = this.processors.get(job.processor);
    e.title.textContent = `${proc?.title ?? job.processor} · ${inputName(job)}`;
    this.panel.dataset.status = job.status;
    this.panel.dataset.processor = job.processor;

    // Facts change with the status only; rebuilding them on every progress event would steal focus.
    const factsKey = `${job.id}|${job.status}|${job.attempts}|${job.finishedAt}`;
    if (factsKey !== this.factsKey) {
      this.factsKey = factsKey;
      const input = job.input?.kind === 'file'
        ? [downloadLink(job.input.url, job.input.name, job.input.name), ` (${job.input.mime}, ${bytes(job.input.size)})`]
        : job.input?.kind === 'job'
          ? [`output ${job.input.output === '*' ? '(the first)' : job.input.output} of `, h('a', { href: `#job=${job.input.job}` }, 'this job'), ' (waiting for it)']
          : [h('a', { href: job.input?.url, rel: 'noreferrer noopener', target: '_blank' }, job.input?.url)];
      const chain = h('div', { class: 'chain-line' });
      if (job.upstream || job.meta?.chain) void renderChain(job, chain);
      const params = Object.entries(job.params ?? {}).map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ');
      replace(e.facts,
        fact('Status', h('span', { class: `badge badge-${job.status}` }, job.status)),
        fact('Input', input),
        job.upstream || job.meta?.chain ? fact('Chain', chain) : null,
        params ? fact('Params', h('code', {}, params)) : null,
        fact('Created', when(job.createdAt)),
        job.startedAt && isTerminal(job.status) ? fact('Took', clock(elapsed(job))) : null,
        job.attempts > 1 || job.status === 'failed' ? fact('Attempts', `${job.attempts} of ${job.maxAttempts}`) : null,
        fact('Job id', h('code', {}, job.id)));
    }

    if (job.status === 'running' || job.status === 'queued' || job.status === 'waiting') {
      const p = job.progress ?? 0;
      const rem = this.model.remaining(job);
      replace(e.progress,
        h('progress', { max: '1', value: String(p), 'aria-label': `Progress: ${pct(p)}` }),
        h('p', { class: 'stage' }, job.status === 'waiting' ? 'Waiting for the job whose output it takes…' : job.status === 'queued' ? 'Waiting for a worker…' : `${pct(p)}${job.stage ? ` · ${job.stage}` : ''} · ${clock(elapsed(job))} elapsed${rem !== null ? ` · about ${clock(rem)} left` : ''}`));
    } else replace(e.progress);

    const state = `${job.status}|${job.error?.code ?? ''}|${job.cancelRequested}`;
    if (state !== this.state) {
      this.state = state;
      replace(e.error, job.status === 'succeeded' ? null : errorView(job.error, { status: job.status }));
      replace(e.actions, actionButtons(job, this.model, { label: jobLabel }));
    }
    const outKey = `${job.id}|${job.status}|${job.outputs.map((o) => `${o.name}:${o.sha256}`).join(',')}`;
    if (outKey !== this.outKey) {
      this.outKey = outKey;
      replace(e.outputs, outputsList(job, [...this.processors.values()]));
    }
    const logs = this.model.extra(job.id).logs;
    replace(e.log, logs.length ? h('details', { class: 'log' }, h('summary', {}, `Log (${logs.length})`),
      h('ol', {}, logs.map((l) => h('li', { class: `log-${l.level}` }, `${l.at.toLocaleTimeString()} ${l.level}: ${l.message}`)))) : null);
    if (this.rawState !== `${job.id}|${job.status}`) {
      this.rawState = `${job.id}|${job.status}`;
      replace(e.raw, job.result != null ? h('details', { class: 'raw' }, h('summary', {}, 'Result JSON'), h('pre', {}, JSON.stringify(job.result, null, 2))) : null);
    }
    this.updateView(job);
  }

  async updateView(job) {
    const loader = loadView(job.processor);
    const mod = await loader;
    if (job.id !== this.id) return;
    // A view renders once the job succeeded, or earlier when it shows partial outputs (recordings).
    // (`finishedAt` tells the fetched job from one whose status an event has just changed: its
    // result arrives with the fetch that follows.)
    const ready = (job.status === 'succeeded' && job.finishedAt) || (mod.live && job.outputs.length > 0);
    // One view per job: a live view follows the job to its end through update().
    const key = ready ? job.id : '';
    if (!ready) {
      if (this.viewKey) { this.destroyView(); replace(this.els.result); }
      return;
    }
    if (key === this.viewKey) { this.view?.update?.(job); return; }
    this.view?.destroy?.();
    this.viewKey = key;
    try {
      this.view = mod.render(job, { processor: this.processors.get(job.processor), mediaUrl });
      replace(this.els.result, this.view.el);
    } catch (err) {
      replace(this.els.result, h('p', { class: 'error' }, `This result could not be shown: ${errorText(err)}`));
    }
  }
}

/** The empty parts of the detail panel, filled by update(). */
function detailParts() {
  return {
    title: h('h2', { id: 'detail-title', tabindex: '-1' }),
    facts: h('dl', { class: 'facts' }),
    progress: h('div', { class: 'detail-progress' }),
    error: h('div', {}),
    actions: h('div', {}),
    result: h('div', { class: 'result' }),
    outputs: h('div', {}),
    log: h('div', {}),
    raw: h('div', {}),
  };
}

function fact(name, ...value) {
  return [h('dt', {}, name), h('dd', {}, ...value)];
}
