/**
 * The /v1 client of the page: JSON calls, uploads with progress, problem+json errors, the optional
 * API key, and the server clock (job times are the server's; elapsed times are measured against it).
 */

const KEY_STORAGE = 'mediaflow.apiKey';

/** An error answered by the server (problem+json) or a network failure (`code` NETWORK). */
export class ApiError extends Error {
  /** @param {{ status?: number, code?: string, title?: string, detail?: string }} [problem] */
  constructor({ status = 0, code = 'NETWORK', title = '', detail = '' } = {}) {
    super(detail || title || code);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
  }
}

/**
 * What a user should read about a failure: the server's words and stable code, or the error's message.
 * @param {unknown} err
 */
export function errorText(err) {
  if (err instanceof ApiError) return `${err.detail || err.title} (${err.code})`;
  return err instanceof Error ? err.message : String(err);
}

const listeners = { unauthorized: new Set() };
/** Called when the server answers 401 (an API key is needed or was refused). */
export function onUnauthorized(fn) { listeners.unauthorized.add(fn); }

export function getApiKey() {
  try { return localStorage.getItem(KEY_STORAGE) ?? ''; } catch { return ''; }
}

export function setApiKey(key) {
  try {
    if (key) localStorage.setItem(KEY_STORAGE, key);
    else localStorage.removeItem(KEY_STORAGE);
  } catch { /* storage disabled: the key lasts for this page only */ }
  memoryKey = key;
  mediaCache.clear();
}

let memoryKey = null;
const currentKey = () => memoryKey ?? getApiKey();

/** @returns {Record<string, string>} */
export function authHeaders() {
  const key = currentKey();
  return key ? { authorization: `Bearer ${key}` } : {};
}

/** Server time minus local time, in ms, from the `Date` header of the latest answer. */
let clockOffset = 0;
export const serverNow = () => Date.now() + clockOffset;

function noteClock(dateHeader) {
  const t = Date.parse(dateHeader ?? '');
  // The header has 1 s resolution: ignore offsets below that, they are rounding.
  if (Number.isFinite(t)) {
    const off = t - Date.now();
    clockOffset = Math.abs(off) > 1500 ? off : 0;
  }
}

async function errorFrom(res) {
  let body = null;
  try { body = await res.json(); } catch { /* not JSON */ }
  if (res.status === 401) for (const fn of listeners.unauthorized) fn();
  return new ApiError({
    status: res.status,
    code: body?.code ?? `HTTP_${res.status}`,
    title: body?.title ?? res.statusText,
    detail: body?.detail ?? body?.error ?? '',
  });
}

/**
 * `fetch` with the API key; JSON in and out; throws ApiError.
 * @param {string} path
 * @param {{ method?: string, json?: unknown, signal?: AbortSignal }} [options]
 */
export async function api(path, { method = 'GET', json, signal } = {}) {
  let res;
  try {
    res = await fetch(path, {
      method,
      signal,
      headers: { accept: 'application/json', ...authHeaders(), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: json !== undefined ? JSON.stringify(json) : undefined,
    });
  } catch (err) {
    if (/** @type {Error | undefined} */ (err)?.name === 'AbortError') throw err;
    throw new ApiError({ detail: 'The server could not be reached' });
  }
  noteClock(res.headers.get('date'));
  if (!res.ok) throw await errorFrom(res);
  if (res.status === 204) return null;
  return res.json();
}

/**
 * Submits a multipart job with upload progress (fetch has no upload progress, so XMLHttpRequest).
 * Resolves `{ job, existing }`; `existing` names why an earlier job was returned (`dedup`...).
 * @param {FormData} form
 * @param {{ onProgress?: (fraction: number) => void, signal?: AbortSignal }} [options]
 */
export function uploadJob(form, { onProgress, signal } = {}) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/v1/jobs');
    xhr.setRequestHeader('accept', 'application/json');
    for (const [k, v] of Object.entries(authHeaders())) xhr.setRequestHeader(k, v);
    xhr.responseType = 'text';
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) onProgress?.(e.loaded / e.total); };
    xhr.onerror = () => reject(new ApiError({ detail: 'The upload was interrupted' }));
    xhr.onabort = () => reject(new DOMException('Upload canceled', 'AbortError'));
    xhr.onload = () => {
      noteClock(xhr.getResponseHeader('date'));
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300 && body?.id) {
        resolve({ job: body, existing: xhr.getResponseHeader('x-mediaflow-existing-job') });
      } else {
        if (xhr.status === 401) for (const fn of listeners.unauthorized) fn();
        reject(new ApiError({ status: xhr.status, code: body?.code ?? `HTTP_${xhr.status}`, title: body?.title ?? '', detail: body?.detail ?? body?.error ?? xhr.statusText }));
      }
    };
    signal?.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(form);
  });
}

/** Submits a JSON job (URL processors). Same answer as `uploadJob`. */
export async function submitJson(body) {
  let res;
  try {
    res = await fetch('/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...authHeaders() }, body: JSON.stringify(body) });
  } catch {
    throw new ApiError({ detail: 'The server could not be reached' });
  }
  noteClock(res.headers.get('date'));
  if (!res.ok) throw await errorFrom(res);
  return { job: await res.json(), existing: res.headers.get('x-mediaflow-existing-job') };
}

/**
 * Fetches a file's bytes (with the API key).
 * @param {string} url
 * @param {{ signal?: AbortSignal }} [options]
 */
export async function fetchBytes(url, { signal } = {}) {
  const res = await fetch(url, { headers: authHeaders(), signal });
  if (!res.ok) throw await errorFrom(res);
  return res.arrayBuffer();
}

const mediaCache = new Map();

/**
 * A URL an <img>/<audio>/<video> element can load. Without an API key, the output URL itself (so
 * the browser streams and seeks with Range requests); with one, media elements cannot send the
 * header, so the file is fetched once and shown from an object URL.
 */
export async function mediaUrl(url) {
  if (!currentKey()) return url;
  let p = mediaCache.get(url);
  if (!p) {
    p = fetch(url, { headers: authHeaders() }).then(async (res) => {
      if (!res.ok) throw await errorFrom(res);
      return URL.createObjectURL(await res.blob());
    });
    mediaCache.set(url, p);
    p.catch(() => mediaCache.delete(url));
  }
  return p;
}

/** `url` with `?download=true`, which the server answers with Content-Disposition: attachment. */
export const downloadUrl = (url) => `${url}${url.includes('?') ? '&' : '?'}download=true`;
