import { pino, type DestinationStream, type Logger } from 'pino';
import { prettyLine } from './pretty.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
/** The logging function workers, the supervisor and the webhook sender take. */
export type LogFn = (level: string, msg: string, extra?: object) => void;

/**
 * The one logger of every Mediaflow process (the API's Fastify logger and the workers' alike):
 * pino, with the level as a word and the time as ISO 8601, on stdout. On a terminal each line is
 * made readable (src/logging/pretty.ts); otherwise it is one JSON object per line, for collectors.
 */
export function createLogger(level: LogLevel | string, opts: { pretty?: boolean; stream?: { write(s: string): unknown } } = {}): Logger {
  const out = opts.stream ?? process.stdout;
  const pretty = opts.pretty ?? process.stdout.isTTY === true;
  const destination: DestinationStream = pretty
    ? { write: (line: string) => { out.write(prettyLine(line, { colour: out === process.stdout })); } }
    : opts.stream ? { write: (line: string) => { out.write(line); } } : pino.destination({ dest: 1, sync: true });
  return pino({
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination);
}

/** `(level, msg, extra)` over a pino logger. */
export function logFn(logger: Logger): LogFn {
  return (level, msg, extra) => {
    const l = (['fatal', 'error', 'warn', 'info', 'debug', 'trace'].includes(level) ? level : 'info') as 'info';
    logger[l](extra ?? {}, msg);
  };
}
