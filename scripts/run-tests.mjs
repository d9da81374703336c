#!/usr/bin/env node
// Runs the test suite with Node's own test runner (TypeScript through tsx) and ends with the plain
// summary line `N passed, N failed[, N skipped]`.
// Usage: npm test [-- <files or folders>]   e.g. npm test -- test/unit  or  npm test -- test/e2e/ocr.test.ts
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function collect(p, out) {
  const st = statSync(p);
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) collect(path.join(p, e), out);
  } else if (/\.test\.ts$/.test(p)) out.push(p);
  return out;
}

const args = process.argv.slice(2);
const roots = args.length ? args : ['test'];
const files = roots.flatMap((r) => collect(r, []));
if (files.length === 0) {
  console.error('no test files found under', roots.join(' '));
  process.exit(1);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'mediaflow-tests-'));
const tap = path.join(dir, 'report.tap');
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const r = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', `--test-concurrency=${concurrency}`,
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=tap', `--test-reporter-destination=${tap}`,
  ...files,
], { stdio: 'inherit', env: { ...process.env, MEDIAFLOW_LOG_LEVEL: process.env.MEDIAFLOW_LOG_LEVEL ?? 'silent' } });
let report = '';
try { report = readFileSync(tap, 'utf8'); } catch { /* runner died before writing */ }
rmSync(dir, { recursive: true, force: true });
// The last summary block of the TAP report holds the totals.
const num = (name) => {
  const m = [...report.matchAll(new RegExp(`^# ${name} (\\d+)$`, 'gm'))].pop();
  return m ? Number(m[1]) : 0;
};
const passed = num('pass');
const failed = num('fail') + num('cancelled');
const skipped = num('skipped') + num('todo');
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(r.status === 0 && failed === 0 && passed > 0 ? 0 : 1);
