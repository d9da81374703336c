import { authHeaders, downloadUrl, getApiKey } from './api.client.js';
import { h } from './lib/dom.js';
import { bytes } from './lib/format.js';
import { sendTo } from './chain.view.js';

/**
 * A download link for a job file. Without an API key, a plain link (the server sends
 * Content-Disposition: attachment); with one, the click fetches the file with the key and saves it.
 */
export function downloadLink(url, name, text = 'Download', attrs = {}) {
  const a = h('a', { href: downloadUrl(url), download: name, class: 'download', ...attrs }, text);
  a.addEventListener('click', async (e) => {
    if (!getApiKey()) return;
    e.preventDefault();
    const res = await fetch(url, { headers: authHeaders() });
    if (!res.ok) return;
    const obj = URL.createObjectURL(await res.blob());
    const tmp = h('a', { href: obj, download: name });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(obj), 10_000);
  });
  return a;
}

/**
 * The job's files: name, type, size, a download link each, and (once the job succeeded) "Send to…"
 * another processor that accepts the file.
 * @param {any} job
 * @param {any[]} [processors]
 */
export function outputsList(job, processors = []) {
  if (!job.outputs?.length) return null;
  return h('section', { class: 'outputs', 'aria-label': 'Files' },
    h('h3', {}, 'Files'),
    h('ul', { class: 'files' }, job.outputs.map((/** @type {any} */ o) => h('li', {},
      h('span', { class: 'file-name' }, o.name),
      h('span', { class: 'file-meta' }, `${o.mime.split(';')[0]} · ${bytes(o.size)}`),
      downloadLink(o.url, o.name, 'Download', { 'aria-label': `Download ${o.name}` }),
      job.status === 'succeeded' ? sendTo(job, o, processors) : null))));
}
