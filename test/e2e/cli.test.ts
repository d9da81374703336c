import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { CLI, ROOT, tempDir } from '../helpers/server.js';
import { renderText } from '../helpers/text-images.js';

function cli(args: string[], cwd: string) {
  return spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, MEDIAFLOW_NO_CONFIG_FILE: '1', MEDIAFLOW_DATA: path.join(cwd, 'data') }, timeout: 120_000 });
}

test('mediaflow run ocr writes the outputs and prints the result', async () => {
  const dir = tempDir();
  try {
    const img = await renderText(dir, 'page.png', 'Command line recognition', { pointsize: 40 });
    const out = path.join(dir, 'out');
    const r = cli(['run', 'ocr', img, '-o', out, '--param', 'psm=6', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(JSON.parse(r.stdout).text, /Command line recognition/);
    assert.match(readFileSync(path.join(out, 'text.txt'), 'utf8'), /Command line recognition/);
    assert.ok(existsSync(path.join(out, 'result.json')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the CLI explains its mistakes: unknown processor, bad param, --help', () => {
  const dir = tempDir();
  try {
    const unknown = cli(['run', 'nope', 'x.png'], dir);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /PROCESSOR_UNKNOWN.*known: .*ocr/);
    const bad = cli(['run', 'ocr', 'x.png', '--param', 'psm=99'], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /PARAMS_INVALID/);
    const help = cli(['--help'], dir);
    assert.equal(help.status, 0);
    for (const c of ['serve', 'worker', 'run', 'jobs', 'migrate', 'record-stream', 'download']) assert.match(help.stdout, new RegExp(`\\b${c}\\b`));
    const cfg = cli(['serve', '--port', 'abc'], dir);
    assert.equal(cfg.status, 2);
    assert.match(cfg.stderr, /Invalid configuration[\s\S]*port/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('mediaflow run … --then chains steps: an image upscaled, then read by OCR', async () => {
  const dir = tempDir();
  try {
    const img = await renderText(dir, 'small.png', 'Chained steps', { pointsize: 22 });
    const out = path.join(dir, 'out');
    const r = cli(['run', 'upscale', img, '--param', 'scale=2', '-o', out, '--then', 'ocr?psm=6', '--json'], dir);
    assert.equal(r.status, 0, r.stderr);
    const upscaled = readdirSync(path.join(out, '1-upscale')).filter((f) => f.endsWith('.png'));
    assert.equal(upscaled.length, 1);
    assert.match(readFileSync(path.join(out, '2-ocr', 'text.txt'), 'utf8'), /Chained steps/);
    const bad = cli(['run', 'upscale', img, '--param', 'scale=2', '-o', out, '--then', 'ocr:nope.png'], dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /UPSTREAM_OUTPUT_MISSING/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
