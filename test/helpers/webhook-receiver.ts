import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedHook {
  delivery: string;
  jobId: string;
  status: string;
  body: string;
  signature: string | undefined;
  /** What the receiver answered. */
  answered: number;
}

/**
 * A webhook receiver on 127.0.0.1 that records every POST. `answer` decides the status code of
 * the next requests (503 to play a receiver that is down).
 */
export async function startWebhookReceiver() {
  const got: ReceivedHook[] = [];
  let answer = 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      let job: { id?: string; status?: string } = {};
      try { job = JSON.parse(body).job ?? {}; } catch { /* recorded as it came */ }
      const sig = req.headers['x-mediaflow-signature'];
      got.push({ delivery: String(req.headers['x-mediaflow-delivery']), jobId: String(job.id), status: String(job.status), body, signature: typeof sig === 'string' ? sig : undefined, answered: answer });
      res.statusCode = answer;
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    got,
    answer(status: number) { answer = status; },
    /** Deliveries answered 2xx, by job id. */
    delivered(): Map<string, ReceivedHook[]> {
      const by = new Map<string, ReceivedHook[]>();
      for (const h of got.filter((x) => x.answered < 300)) by.set(h.jobId, [...(by.get(h.jobId) ?? []), h]);
      return by;
    },
    close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
