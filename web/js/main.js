import { api, ApiError, errorText, getApiKey, onUnauthorized, setApiKey } from './api.client.js';
import { announce } from './announce.js';
import { JobDetail } from './job.detail.js';
import { JobsList } from './jobs.list.js';
import { JobsModel } from './jobs.model.js';
import { $, $$ } from './lib/dom.js';
import { openEventStream } from './sse.client.js';
import { initSubmit } from './submit.form.js';
import { initWorkersPanel } from './workers.panel.js';

/**
 * The page's start: reveal the enhanced controls, load the processors, open the live event stream
 * (before the first list load, so nothing falls between them), load the jobs, open the job named in
 * the address. `html[data-ready]` and the `mediaflow:interactive` performance mark say when the
 * page is usable (the benchmark and the tests wait for them).
 */
async function main() {
  for (const el of $$('.js-only')) el.hidden = false;
  initSettings();
  initWorkersPanel($('#workers'));

  const model = new JobsModel();
  const query = new URL(location.href).searchParams;
  model.filters = { processor: query.get('processor') ?? '', status: query.get('status') ?? '' };

  // The event stream opens first and the job list loads once it is connected (its `ready`), so no
  // change falls between the two; the processors load meanwhile.
  const live = $('#live');
  let everOpen = false;
  let connected;
  const streamReady = new Promise((resolve) => { connected = resolve; });
  openEventStream('/v1/events', {
    onEvent: (type, data) => {
      if (type === 'ready') connected();
      model.applyEvent(type, data);
    },
    onState: (state) => {
      live.hidden = false;
      live.dataset.state = state;
      live.textContent = state === 'open' ? 'live' : 'reconnecting…';
      // After a reconnection the stream replays what was missed (Last-Event-ID), or says `reset`.
      if (state === 'open') everOpen = true;
      else if (!everOpen) connected(); // no stream (yet): load the list anyway
    },
  });

  let processors;
  try {
    processors = (await api('/v1/processors')).items;
  } catch (err) {
    const msg = errorText(err);
    $('#boot-error').hidden = false;
    $('#boot-error').textContent = err instanceof ApiError && err.status === 401
      ? `This server needs an API key: enter it under Settings (${err.code}).`
      : `The job server did not answer: ${msg}.`;
    // The form stays the plain one (posting to /ocr), which needs nothing from /v1.
    for (const el of $$('#ocr-form .js-only')) el.hidden = true;
    document.documentElement.dataset.ready = 'true'; // as usable as it gets: Settings work
    return;
  }

  const detail = new JobDetail(model, { panel: $('#detail'), placeholder: $('#detail-placeholder'), processors });
  const list = new JobsList(model, {
    list: $('#job-list'), empty: $('#jobs-empty'), more: $('#jobs-more'),
    filterProcessor: $('#filter-processor'), filterStatus: $('#filter-status'), processors,
    selectedId: null,
  });
  initSubmit({
    form: $('#ocr-form'), processors, model,
    onCreated: (job) => { location.hash = `job=${encodeURIComponent(job.id)}`; },
  });

  try {
    // A proxy that holds the stream back must not hold the list back too.
    await Promise.race([streamReady, new Promise((r) => setTimeout(r, 3000))]);
    await model.load();
  } catch (err) {
    announce(`The job list could not be loaded: ${errorText(err)}`, 'error');
  }

  const route = (byUser) => {
    const m = /^#job=(.+)$/.exec(location.hash);
    const id = m ? decodeURIComponent(m[1]) : null;
    list.select(id);
    if (id) {
      detail.show(id).then(() => {
        if (!byUser) return;
        // Move to what was opened: keyboard and screen reader users land on the job's title.
        const narrow = window.matchMedia('(max-width: 999px)').matches;
        $('#detail-title')?.focus({ preventScroll: !narrow });
      });
    } else detail.close();
  };
  window.addEventListener('hashchange', () => route(true));
  route(false);

  document.documentElement.dataset.ready = 'true';
  performance.mark('mediaflow:interactive');
}

function initSettings() {
  const settings = $('#settings');
  const input = $('#api-key');
  const form = $('#settings-form');
  input.value = getApiKey();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    setApiKey(input.value.trim());
    announce(input.value.trim() ? 'API key saved in this browser; reloading…' : 'API key removed; reloading…');
    setTimeout(() => location.reload(), 600);
  });
  let told = false;
  onUnauthorized(() => {
    settings.open = true;
    if (!told) { told = true; announce('This server needs an API key: enter it under Settings.', 'error'); }
  });
}

main();
