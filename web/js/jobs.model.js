import { api, ApiError, serverNow } from './api.client.js';

export const STATUSES = ['waiting', 'queued', 'running', 'succeeded', 'failed', 'canceled'];
export const isTerminal = (s) => s === 'succeeded' || s === 'failed' || s === 'canceled';

/**
 * The jobs the page shows, kept current from the event stream: a page of GET /v1/jobs (newest
 * first, filtered by processor and status), progress and stage applied in place from `progress`
 * events, the whole job fetched again when its status changes or it ends, outputs added as they
 * appear. Listeners get `(job)` for one job's change, `(null)` when the whole list changed.
 */
export class JobsModel {
  constructor() {
    this.jobs = new Map();
    /** Ids in display order (newest first). */
    this.order = [];
    this.filters = { processor: '', status: '' };
    this.nextCursor = null;
    this.loaded = false;
    this.listeners = new Set();
    this.removedListeners = new Set();
    this.early = [];
    this.refreshing = new Map();
    /** Client-side extras per job: live log lines and progress samples for the time estimate. */
    this.extras = new Map();
  }

  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(job) { for (const fn of this.listeners) fn(job); }

  extra(id) {
    let x = this.extras.get(id);
    if (!x) this.extras.set(id, (x = { logs: [], sample: null }));
    return x;
  }

  matches(job) {
    return (!this.filters.processor || job.processor === this.filters.processor)
      && (!this.filters.status || job.status === this.filters.status);
  }

  query(cursor) {
    const q = new URLSearchParams({ limit: '50' });
    if (this.filters.processor) q.set('processor', this.filters.processor);
    if (this.filters.status) q.set('status', this.filters.status);
    if (cursor) q.set('cursor', cursor);
    return `/v1/jobs?${q}`;
  }

  /** Loads the first page for the current filters, replacing the list. */
  async load() {
    const page = await api(this.query());
    this.order = [];
    for (const j of page.items) { this.put(j); this.order.push(j.id); }
    this.nextCursor = page.nextCursor;
    const first = !this.loaded;
    this.loaded = true;
    this.emit(null);
    // The list may predate events that arrived while it loaded: apply them now (they are idempotent).
    if (first) for (const [type, data] of this.early.splice(0)) this.applyEvent(type, data);
  }

  async loadMore() {
    if (!this.nextCursor) return;
    const page = await api(this.query(this.nextCursor));
    for (const j of page.items) { this.put(j); if (!this.order.includes(j.id)) this.order.push(j.id); }
    this.nextCursor = page.nextCursor;
    this.emit(null);
  }

  async setFilters(filters) {
    this.filters = { ...this.filters, ...filters };
    await this.load();
  }

  /**
   * Adds or replaces a job (from the API). Every job seen is kept (the detail panel may show a job
   * the filters hide); the list shows those that match the filters.
   */
  upsert(job) {
    const known = this.jobs.get(job.id);
    if (known && (job.updatedAt ?? '') < (known.updatedAt ?? '')) return known; // an older answer arrived late
    const listed = this.order.includes(job.id);
    this.put(job);
    const kept = this.jobs.get(job.id);
    if (this.matches(kept) !== listed) {
      if (listed) this.order = this.order.filter((x) => x !== job.id);
      else this.insertInOrder(kept);
      this.emit(null);
    }
    this.emit(kept);
    return kept;
  }

  put(job) {
    const known = this.jobs.get(job.id);
    if (known) {
      // Outputs seen through events but not yet in this answer (it may be older) are kept.
      const names = new Set(job.outputs.map((o) => o.name));
      const extra = known.outputs.filter((o) => !names.has(o.name));
      Object.assign(known, job, { outputs: [...job.outputs, ...(job.status === 'running' ? extra : [])] });
      return;
    }
    this.jobs.set(job.id, job);
  }

  insertInOrder(job) {
    // Newest first, by creation time.
    const i = this.order.findIndex((id) => (this.jobs.get(id)?.createdAt ?? '') < job.createdAt);
    if (i < 0) this.order.push(job.id);
    else this.order.splice(i, 0, job.id);
  }

  remove(id) {
    const listed = this.order.includes(id);
    if (!this.jobs.delete(id)) return;
    if (listed) this.order = this.order.filter((x) => x !== id);
    this.emit(null);
    for (const fn of this.removedListeners) fn(id);
  }

  onRemoved(fn) { this.removedListeners.add(fn); }

  /** Fetches one job again; several calls while one runs make one more fetch, not many. */
  refresh(id) {
    const running = this.refreshing.get(id);
    if (running) { running.again = true; return running.promise; }
    /** @type {{ again: boolean, promise: Promise<void> | null }} */
    const entry = { again: false, promise: null };
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          try {
            this.upsert(await api(`/v1/jobs/${encodeURIComponent(id)}`));
          } catch (err) {
            if (err instanceof ApiError && err.status === 404) { this.remove(id); return; }
            throw err;
          }
        } while (entry.again);
      } finally {
        this.refreshing.delete(id);
      }
    })();
    this.refreshing.set(id, entry);
    return entry.promise;
  }

  /** Applies one event of GET /v1/events. Events that come before the first list are kept for after it. */
  applyEvent(type, data) {
    if (!this.loaded) { this.early.push([type, data]); return; }
    if (type === 'reset') { this.load().catch(() => {}); return; }
    const id = data?.jobId;
    if (!id) return;
    const job = this.jobs.get(id);
    if (!job) {
      // A job this page has not seen (submitted elsewhere, or outside the loaded page): fetch it
      // when it is new; the filters decide whether it shows.
      if (type === 'status' && this.loaded) this.refresh(id).catch(() => {});
      return;
    }
    const x = this.extra(id);
    if (type === 'progress') {
      job.progress = data.progress;
      job.stage = data.stage;
      if (job.status === 'queued') job.status = 'running';
      const now = serverNow();
      if (!x.sample || data.progress < x.sample.p) x.sample = { t: now, p: data.progress };
      this.emit(job);
    } else if (type === 'log') {
      x.logs.push({ level: data.level, message: data.message, at: new Date() });
      if (x.logs.length > 200) x.logs.shift();
      this.emit(job);
    } else if (type === 'output') {
      const url = `/v1/jobs/${encodeURIComponent(id)}/outputs/${encodeURIComponent(data.output.name)}`;
      job.outputs = [...job.outputs.filter((o) => o.name !== data.output.name), { ...data.output, url }];
      this.emit(job);
    } else if (type === 'status' || type === 'done') {
      if (data.status && data.status !== job.status) {
        job.status = data.status;
        if (data.status === 'running' || data.status === 'queued') x.sample = null;
      }
      if ('error' in data) job.error = data.error ?? null;
      this.emit(job);
      this.refresh(id).catch(() => {});
    }
  }

  /**
   * Seconds left for a running job, or null when unknown: the progress rate since the first
   * progress event this page saw (model loading before it does not skew the rate), else since
   * the job started.
   */
  remaining(job, now = serverNow()) {
    if (job.status !== 'running' || !(job.progress > 0.01) || job.progress >= 1) return null;
    const s = this.extras.get(job.id)?.sample;
    let rate = null;
    if (s && now - s.t > 1500 && job.progress > s.p) rate = (job.progress - s.p) / (now - s.t);
    else if (job.startedAt) {
      const ran = now - Date.parse(job.startedAt);
      if (ran > 0) rate = job.progress / ran;
    }
    return rate ? ((1 - job.progress) / rate) / 1000 : null;
  }
}

/** Seconds the job has run (or waited, when queued), until it ended. */
export function elapsed(job, now = serverNow()) {
  const start = Date.parse(job.startedAt ?? job.createdAt);
  const end = job.finishedAt ? Date.parse(job.finishedAt) : now;
  return Math.max(0, (end - start) / 1000);
}
