/**
 * One pino JSON line as a line a person reads on a terminal:
 * `22:49:13.847 INFO  request completed  reqId=req-1 statusCode=200 responseTime=3.2`.
 * Nested values are written as compact JSON. A line that is not JSON passes through unchanged.
 */
const COLOURS: Record<string, string> = { fatal: '\x1b[35m', error: '\x1b[31m', warn: '\x1b[33m', info: '\x1b[32m', debug: '\x1b[90m', trace: '\x1b[90m' };
const RESET = '\x1b[0m';
/** Fields shown in the line's head, or not worth repeating on every line. */
const HEAD = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

export function prettyLine(json: string, opts: { colour?: boolean } = {}): string {
  let rec: Record<string, unknown>;
  try {
    rec = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  if (!rec || typeof rec !== 'object') return `${json}\n`;
  const level = String(rec.level ?? 'info');
  const time = typeof rec.time === 'string' ? rec.time.slice(11, 23) : new Date().toISOString().slice(11, 23);
  const label = level.toUpperCase().padEnd(5);
  const head = opts.colour && COLOURS[level] ? `${COLOURS[level]}${label}${RESET}` : label;
  const rest = Object.entries(rec)
    .filter(([k, v]) => !HEAD.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? (/\s/.test(v) ? JSON.stringify(v) : v) : JSON.stringify(v)}`)
    .join(' ');
  return `${time} ${head} ${String(rec.msg ?? '')}${rest ? `  ${rest}` : ''}\n`;
}
