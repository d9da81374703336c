import { authHeaders } from './api.client.js';

/**
 * A Server-Sent Events reader over `fetch`. Hand-written instead of using `EventSource` because
 * EventSource cannot send an `Authorization` header, and servers with API keys need one. It keeps
 * EventSource's behaviour: reconnects with growing delays and resumes with `Last-Event-ID`.
 *
 * `onEvent(type, data, id)` gets each event with its JSON data parsed; `onState('open'|'retrying')`
 * tells the page whether it is live.
 */
export function openEventStream(url, { onEvent, onState }) {
  let stopped = false;
  let controller = null;
  let lastId = null;

  async function run() {
    let delay = 500;
    while (!stopped) {
      controller = new AbortController();
      try {
        const res = await fetch(url, {
          headers: { accept: 'text/event-stream', ...authHeaders(), ...(lastId !== null ? { 'last-event-id': lastId } : {}) },
          cache: 'no-store',
          signal: controller.signal,
        });
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        onState?.('open');
        delay = 500;
        await readStream(res.body, (type, data, id) => {
          if (id !== null) lastId = id;
          onEvent(type, data, id);
        });
      } catch {
        if (stopped) return;
      }
      if (stopped) return;
      onState?.('retrying');
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  }

  run();
  return {
    close() {
      stopped = true;
      controller?.abort();
    },
  };
}

/** Parses the text/event-stream format (https://html.spec.whatwg.org/multipage/server-sent-events.html). */
async function readStream(body, emit) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  let type = '', data = [], id = null;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buf += value;
    let nl;
    while ((nl = buf.search(/\r\n|\r|\n/)) >= 0) {
      if (buf[nl] === '\r' && nl === buf.length - 1) break; // a CRLF split across chunks: wait for the LF
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + (buf[nl] === '\r' && buf[nl + 1] === '\n' ? 2 : 1));
      if (line === '') {
        if (data.length) {
          const text = data.join('\n');
          let parsed = text;
          try { parsed = JSON.parse(text); } catch { /* plain text data */ }
          emit(type || 'message', parsed, id);
        }
        type = ''; data = []; id = null;
        continue;
      }
      if (line.startsWith(':')) continue; // comment (heartbeat)
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      let v = colon < 0 ? '' : line.slice(colon + 1);
      if (v.startsWith(' ')) v = v.slice(1);
      if (field === 'event') type = v;
      else if (field === 'data') data.push(v);
      else if (field === 'id') id = v;
    }
  }
}
