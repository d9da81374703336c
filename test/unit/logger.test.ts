import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger, logFn } from '../../src/logging/logger.js';
import { prettyLine } from '../../src/logging/pretty.js';

function capture(pretty: boolean) {
  const lines: string[] = [];
  const logger = createLogger('info', { pretty, stream: { write: (s: string) => lines.push(s) } });
  return { logger, lines };
}

test('JSON lines carry the level as a word and an ISO time', () => {
  const { logger, lines } = capture(false);
  logFn(logger)('warn', 'lease failed', { err: 'x' });
  logger.debug('not shown at info');
  assert.equal(lines.length, 1);
  const rec = JSON.parse(lines[0]!);
  assert.equal(rec.level, 'warn');
  assert.match(rec.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.equal(rec.msg, 'lease failed');
  assert.equal(rec.err, 'x');
});

test('on a terminal each record is one readable line', () => {
  const { logger, lines } = capture(true);
  logFn(logger)('info', 'job succeeded', { jobId: 'j1', ms: 12, note: 'two words' });
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d\.\d{3} INFO  job succeeded  jobId=j1 ms=12 note="two words"\n$/);
  assert.doesNotMatch(lines[0]!, /pid=|"level"/);
  assert.equal(prettyLine('not json'), 'not json\n');
});
