import { ApiError, errorText, submitJson, uploadJob } from './api.client.js';
import { byId, h, replace } from './lib/dom.js';
import { bytes, pct } from './lib/format.js';
import { buildParamsForm, describe } from './schema.form.js';

const LAST_PROCESSOR = 'mediaflow.processor';

/**
 * The submit form. It is the seed's plain OCR form (posting `file` to /ocr), enhanced when the
 * script runs: a processor picker, files chosen or dropped (several make one job each) or a URL for
 * URL processors, and the processor's params generated from its JSON Schema. Each upload shows its
 * progress, then a link to its job or the server's error with its code.
 */
export function initSubmit({ form, processors, model, onCreated }) {
  const select = form.querySelector('#processor');
  const desc = form.querySelector('#processor-desc');
  const fileArea = form.querySelector('#file-area');
  const fileInput = form.querySelector('#ocr-file');
  const fileLabel = fileArea.querySelector('label');
  const chosen = form.querySelector('#chosen');
  const urlArea = form.querySelector('#url-area');
  const urlInput = form.querySelector('#url');
  const paramsBox = form.querySelector('#params');
  const paramsFields = form.querySelector('#params-fields');
  const button = form.querySelector('#submit-button');
  const log = byId('submissions');
  const title = byId('submit-title');

  title.textContent = 'New job';
  fileInput.multiple = true;
  fileInput.required = false; // checked on submit, so a drop counts too
  const byName = new Map(processors.map((p) => [p.name, p]));
  replace(select, processors.map((p) => h('option', { value: p.name }, `${p.title} (${p.name})`)));
  let stored = null;
  try { stored = localStorage.getItem(LAST_PROCESSOR); } catch { /* storage disabled */ }
  select.value = byName.has(stored) ? stored : byName.has('ocr') ? 'ocr' : processors[0]?.name ?? '';

  let paramsForm = null;
  const current = () => byName.get(select.value);

  function files() { return [...(fileInput.files ?? [])]; }

  function refreshButton() {
    const p = current();
    if (!p) { button.disabled = true; return; }
    button.disabled = false;
    const n = p.input.kind === 'file' ? files().length : 1;
    button.textContent = n > 1 ? `Start ${n} jobs` : 'Start job';
  }

  function renderChosen() {
    const list = files();
    chosen.hidden = list.length === 0;
    replace(chosen, list.map((f, i) => {
      const rm = h('button', { type: 'button', class: 'link', 'aria-label': `Remove ${f.name}` }, 'remove');
      rm.addEventListener('click', () => {
        const dt = new DataTransfer();
        files().forEach((x, j) => { if (j !== i) dt.items.add(x); });
        fileInput.files = dt.files;
        renderChosen();
      });
      return h('li', {}, `${f.name} (${bytes(f.size)}) `, rm);
    }));
    refreshButton();
  }

  function onProcessor() {
    const p = current();
    if (!p) return;
    try { localStorage.setItem(LAST_PROCESSOR, p.name); } catch { /* storage disabled */ }
    replace(desc, describe(p.description));
    const isFile = p.input.kind === 'file';
    fileArea.hidden = !isFile;
    urlArea.hidden = isFile;
    urlInput.required = !isFile;
    fileInput.disabled = !isFile;
    const accept = isFile ? p.input.accept.filter((a) => a !== '*') : [];
    if (accept.length) fileInput.setAttribute('accept', accept.join(','));
    else fileInput.removeAttribute('accept');
    fileLabel.textContent = 'Files (each makes one job)';
    paramsForm = buildParamsForm(p.params, paramsFields);
    paramsBox.hidden = paramsFields.hidden;
    const n = Object.keys(p.params?.properties ?? {}).length;
    form.querySelector('#params-summary').textContent = `(${n} ${n === 1 ? 'setting' : 'settings'}, defaults filled in)`;
    renderChosen();
  }

  select.addEventListener('change', onProcessor);
  fileInput.addEventListener('change', renderChosen);
  form.querySelector('#params-reset').addEventListener('click', () => paramsForm?.reset());

  // Drop anywhere on the submit panel.
  const zone = form.closest('section') ?? form;
  let depth = 0;
  zone.addEventListener('dragenter', (e) => { e.preventDefault(); depth++; zone.classList.add('dragging'); });
  zone.addEventListener('dragleave', () => { if (--depth <= 0) { depth = 0; zone.classList.remove('dragging'); } });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove('dragging');
    const dt = e.dataTransfer;
    if (!dt) return;
    if (current()?.input.kind === 'url') {
      const text = (dt.getData('text/uri-list') || dt.getData('text/plain') || '').split(/\s+/).find((s) => /^https?:\/\//i.test(s));
      if (text) urlInput.value = text;
      return;
    }
    if (dt.files?.length) {
      const merged = new DataTransfer();
      for (const f of [...files(), ...dt.files]) merged.items.add(f);
      fileInput.files = merged.files;
      renderChosen();
    }
  });

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const p = current();
    if (!p) return;
    if (paramsBox.querySelector(':invalid')) paramsBox.open = true; // a closed <details> hides the message
    if (!form.reportValidity()) return;
    let params;
    try { params = paramsForm.read(); } catch (err) { entry(p.name).fail(new ApiError({ code: 'PARAMS_INVALID', detail: errorText(err) })); return; }
    if (p.input.kind === 'file') {
      const list = files();
      if (!list.length) { fileInput.focus(); entry(p.name).fail(new ApiError({ code: 'INPUT_MISSING', detail: 'Choose or drop at least one file.' })); return; }
      fileInput.value = '';
      renderChosen();
      const results = await Promise.all(list.map((file) => {
        const fd = new FormData();
        fd.set('processor', p.name);
        fd.set('params', JSON.stringify(params));
        fd.set('file', file, file.name);
        const row = entry(`${p.name} · ${file.name}`);
        return uploadJob(fd, { onProgress: (f) => row.progress(f) }).then((r) => row.done(r), (err) => row.fail(err));
      }));
      const created = results.filter(Boolean);
      if (created.length === 1 && list.length === 1) onCreated(created[0]);
    } else {
      const url = urlInput.value.trim();
      const row = entry(`${p.name} · ${url}`);
      const r = await submitJson({ processor: p.name, params, input: { url } }).then((x) => row.done(x), (err) => row.fail(err));
      if (r) { urlInput.value = ''; onCreated(r); }
    }
  });

  /** One line of the submissions log, from upload to job link or error. */
  function entry(label) {
    const state = h('span', { class: 'sub-state' }, 'sending…');
    const bar = h('progress', { max: '1', value: '0', 'aria-label': `Upload of ${label}` });
    const li = h('li', { class: 'submission' }, h('span', { class: 'sub-name' }, label), ' ', state, bar);
    log.prepend(li);
    while (log.children.length > 8) log.lastElementChild?.remove();
    return {
      progress(f) { bar.value = f; state.textContent = `uploading ${pct(f)}`; },
      done({ job, existing }) {
        bar.remove();
        li.classList.add('ok');
        const link = h('a', { href: `#job=${encodeURIComponent(job.id)}` }, 'open job');
        replace(state, existing ? 'the same job already exists — ' : 'job created — ', link);
        model.upsert(job);
        return job;
      },
      fail(err) {
        bar.remove();
        li.classList.add('failed');
        li.setAttribute('role', 'alert');
        const e = err instanceof ApiError ? err : new ApiError({ code: 'INTERNAL', detail: String(err?.message ?? err) });
        replace(state, h('span', { class: 'error' }, `Not accepted: ${e.detail || e.title}`, ' ', h('code', { class: 'code' }, e.code)));
        return null;
      },
    };
  }

  onProcessor();
}
