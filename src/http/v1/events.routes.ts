import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { EventLog } from '../../core/ports/event-log.port.js';
import type { JobEvent } from '../../core/job.types.js';
import type { JobStore } from '../../core/ports/job-store.port.js';

/** Most stored events replayed to a client that reconnects with `Last-Event-ID`; past that it is told to reload. */
export const REPLAY_LIMIT = 2000;
/** Most events held for one slow client before it is told to reload instead. */
export const QUEUE_LIMIT = 10_000;

export interface EventsRoutesDeps {
  events: EventLog;
  store: JobStore;
}

interface SseReply {
  send(message: unknown): Promise<void>;
  onClose(cb: () => void): void;
  close(): void;
  lastEventId: string | null;
  sendHeaders(): void;
}

/**
 * `GET /v1/events`: Server-Sent Events of every job (the web UI's live job list). Each event is the
 * job event as `/v1/jobs/:id/events` sends it (`status`, `progress`, `log`, `output`, `done`, each
 * with `jobId`), with the store's event id as the SSE `id`. A fresh connection starts with `ready`
 * (`{lastEventId}`); a reconnecting client that sends `Last-Event-ID` (or `?after=`) first gets the
 * events it missed. When those are too many (or the client falls too far behind), the server sends
 * `reset` and the client reloads the jobs it shows.
 */
export async function eventsRoutes(app: FastifyInstance, d: EventsRoutesDeps) {
  // These streams never end on their own (an open page keeps one): end them when the server closes,
  // or a graceful shutdown would wait for every browser tab to go away.
  const open = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of open) end();
  });

  app.get('/v1/events', {
    sse: { kind: 'only', heartbeat: true },
    schema: {
      tags: ['jobs'],
      summary: 'Server-Sent Events of all jobs',
      description: 'Every job\'s events (`status`, `progress`, `log`, `output`, `done`), each with its `jobId` and the event id as SSE `id`. '
        + 'Starts with `ready` `{lastEventId}`. Reconnect with `Last-Event-ID` (or `?after=<id>`) to receive the events missed meanwhile; '
        + '`reset` means too many were missed: reload the job list.',
      querystring: Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0, description: 'Replay the events after this id (as Last-Event-ID)' })) }),
    },
  } as never, async (request: FastifyRequest, reply: FastifyReply) => {
    const sse = (reply as unknown as { sse: SseReply }).sse;
    const after = (request.query as { after?: number }).after ?? parseEventId(sse.lastEventId ?? request.headers['last-event-id']);
    await streamAllEvents(sse, d, after, open, () => reply.raw.flushHeaders());
  });
}

function parseEventId(v: unknown): number | null {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) ? n : null;
}

async function streamAllEvents(sse: SseReply, d: EventsRoutesDeps, after: number | null, open: Set<() => void>, flushHeaders: () => void) {
  const queue: Array<{ ev: JobEvent; eventId: number }> = [];
  let overflow = false;
  let wake: (() => void) | null = null;
  // Subscribe before reading anything, so no event falls between the replay and the live stream.
  const unsubscribe = d.events.subscribe('*', (ev, eventId) => {
    if (queue.length >= QUEUE_LIMIT) overflow = true;
    else queue.push({ ev, eventId });
    wake?.();
  });
  let closed = false;
  let ending = false;
  sse.onClose(() => { closed = true; wake?.(); });
  const end = () => { ending = true; wake?.(); };
  open.add(end);
  try {
    let lastSent = -1;
    if (after === null) {
      lastSent = await d.events.lastId();
      await sse.send({ id: String(lastSent), event: 'ready', data: { lastEventId: lastSent } });
    } else {
      const missed = await d.events.read(after, REPLAY_LIMIT + 1);
      if (missed.length > REPLAY_LIMIT) {
        lastSent = await d.events.lastId();
        await sse.send({ id: String(lastSent), event: 'reset', data: { lastEventId: lastSent, reason: 'too many events missed' } });
      } else {
        lastSent = after;
        for (const { id, event } of missed) {
          await sse.send({ id: String(id), event: event.type, data: event });
          lastSent = id;
        }
      }
    }
    // A resumed stream with nothing missed has sent nothing yet: commit it now, so the client knows
    // it is connected (and heartbeats start) before the next event, which may be long in coming.
    sse.sendHeaders();
    flushHeaders();
    for (;;) {
      if (overflow) {
        queue.length = 0;
        overflow = false;
        lastSent = await d.events.lastId();
        await sse.send({ id: String(lastSent), event: 'reset', data: { lastEventId: lastSent, reason: 'client too slow' } });
      }
      while (queue.length) {
        const { ev, eventId } = queue.shift()!;
        if (eventId <= lastSent) continue; // already sent by the replay
        await sse.send({ id: String(eventId), event: ev.type, data: ev });
        lastSent = eventId;
      }
      if (closed || ending) return;
      await new Promise<void>((r) => { wake = r; });
      wake = null;
    }
  } finally {
    open.delete(end);
    unsubscribe();
    if (!closed) sse.close();
  }
}
