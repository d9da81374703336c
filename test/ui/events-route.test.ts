import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { REPLAY_LIMIT } from '../../src/http/v1/events.routes.js';
import { json, startServer, submit, type InProcessServer } from '../helpers/server.js';

interface Sse { type: string; id: string | null; data: any }

/** Reads GET /v1/events as a client would, until `stop` says enough or the time is up. */
async function readEvents(url: string, headers: Record<string, string>, stop: (seen: Sse[]) => boolean, timeoutMs = 15_000): Promise<Sse[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const seen: Sse[] = [];
  try {
    const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const ev: Sse = { type: 'message', id: null, data: '' };
        for (const line of block.split('\n')) {
          if (line.startsWith('event: ')) ev.type = line.slice(7);
          else if (line.startsWith('id: ')) ev.id = line.slice(4);
          else if (line.startsWith('data: ')) ev.data += line.slice(6);
        }
        if (!ev.data) continue; // heartbeat comment
        ev.data = JSON.parse(ev.data);
        seen.push(ev);
        if (stop(seen)) return seen;
      }
    }
    return seen;
  } catch (err) {
    if (ac.signal.aborted) throw new Error(`timed out; saw ${JSON.stringify(seen.map((e) => e.type))}`);
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
}

const doneFor = (id: string) => (seen: Sse[]) => seen.some((e) => e.type === 'done' && e.data.jobId === id);

describe('GET /v1/events (all jobs, for the web UI)', () => {
  let s: InProcessServer;
  before(async () => { s = await startServer({ network: { allowPrivate: true } }); });
  after(async () => { await s?.close(); });

  test('streams every job\'s events in order, starting with ready; Last-Event-ID replays what was missed', async () => {
    let jobId = '';
    let readyId = '';
    const live = await readEvents(`${s.url}/v1/events`, {}, (seen) => {
      if (seen.length === 1) {
        assert.equal(seen[0]!.type, 'ready');
        readyId = seen[0]!.id!;
        assert.equal(String(seen[0]!.data.lastEventId), readyId);
        void submit(s.url, { processor: 'sleep', params: { ms: 200 }, input: { url: 'http://127.0.0.1/' } }).then(async (r) => { jobId = (await json(r)).id; });
      }
      return !!jobId && doneFor(jobId)(seen);
    });
    const mine = live.filter((e) => e.data.jobId === jobId);
    const kinds = mine.map((e) => (e.type === 'status' ? `status:${e.data.status}` : e.type));
    assert.equal(kinds[0], 'status:queued');
    assert.equal(kinds[1], 'status:running');
    assert.ok(kinds.filter((k) => k === 'progress').length >= 2, kinds.join(',')); // the worker throttles progress
    assert.deepEqual(kinds.slice(-2), ['status:succeeded', 'done']);
    const ids = live.slice(1).map((e) => Number(e.id));
    assert.ok(ids.every((v, i) => i === 0 || v > ids[i - 1]!), 'ids increase');

    // A client that reconnects with the last id it saw gets the same events again, in order.
    const replay = await readEvents(`${s.url}/v1/events`, { 'last-event-id': readyId }, doneFor(jobId));
    assert.deepEqual(replay.filter((e) => e.data.jobId === jobId).map((e) => [e.id, e.type]), mine.map((e) => [e.id, e.type]));
    const viaQuery = await readEvents(`${s.url}/v1/events?after=${readyId}`, {}, doneFor(jobId));
    assert.equal(viaQuery.filter((e) => e.data.jobId === jobId).length, mine.length);
  });

  test('too many missed events: the client is told to reload (reset) instead of getting a flood', async () => {
    const from = await s.rt.events.lastId();
    for (let i = 0; i <= REPLAY_LIMIT; i++) await s.rt.events.append({ type: 'log', jobId: 'no-such-job', level: 'info', message: `line ${i}` });
    const seen = await readEvents(`${s.url}/v1/events`, { 'last-event-id': String(from) }, (x) => x.length >= 1);
    assert.equal(seen[0]!.type, 'reset');
    assert.equal(Number(seen[0]!.id), await s.rt.events.lastId());
  });

  test('an open stream (a page left open) does not hold up the server\'s shutdown', async () => {
    const other = await startServer({}, { worker: false });
    const res = await fetch(`${other.url}/v1/events`, { headers: { accept: 'text/event-stream' } });
    const reader = res.body!.getReader();
    assert.match(new TextDecoder().decode((await reader.read()).value), /event: ready/);
    const t0 = Date.now();
    await other.close();
    assert.ok(Date.now() - t0 < 3000, `close took ${Date.now() - t0} ms`);
    // The client sees the stream end (and would reconnect elsewhere).
    for (;;) if ((await reader.read()).done) break;
  });

  test('needs the API key like the rest of /v1', async () => {
    const locked = await startServer({ apiKeys: ['ui-test-key-123'] }, { worker: false });
    try {
      const res = await fetch(`${locked.url}/v1/events`, { headers: { accept: 'text/event-stream' } });
      assert.equal(res.status, 401);
      assert.equal(((await res.json()) as { code: string }).code, 'UNAUTHORIZED');
      const seen = await readEvents(`${locked.url}/v1/events`, { authorization: 'Bearer ui-test-key-123' }, (x) => x.length >= 1);
      assert.equal(seen[0]!.type, 'ready');
    } finally {
      await locked.close();
    }
  });
});
