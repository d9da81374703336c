/**
 * Upscale benchmark: speed, peak memory and quality of Mediaflow's `upscale` against the
 * `upscaler` npm package (UpscalerJS, the library the ESRGAN weights were published for), on the
 * same weights.
 *
 *  1. Speed and peak RSS per model and scale: output megapixels per second of
 *     - mediaflow (onnx): Mediaflow's tiled pipeline on onnxruntime-node (the default engine),
 *     - mediaflow (tfjs): the same pipeline on @tensorflow/tfjs + wasm (the reference engine),
 *     - upscaler: UpscalerJS's own pipeline (browser ESM build; its Node entry needs tfjs-node,
 *       which cannot be installed offline) on @tensorflow/tfjs + wasm, patchSize 128, padding 8.
 *     Each engine runs in a fresh process (peak RSS is its own); it is loaded and warmed up on a
 *     16×16 image, then timed twice on the input and the faster run counts (the machine may be
 *     shared). Mediaflow runs here with the packages' own value ranges,
 *     so its output can be compared with UpscalerJS's pixel for pixel ("equal output" column).
 *  2. Quality: PSNR (RGB) and SSIM (luma, 11×11 Gaussian window) against the original, for ×2 and
 *     ×4, on a 192×192 centre crop of each photograph in test/fixtures/images (downscaled with
 *     bicubic, the degradation the models were trained on), with bicubic upscaling as the floor.
 *  3. A 4000×3000 JPEG through the whole processor (slim ×2, JPEG out): time, peak RSS and the
 *     worst event-loop delay of the process while it ran.
 *
 * Run: npx tsx bench/upscale.bench.ts [--quick] [--no-write]
 *   --quick   smaller inputs and fewer configurations (a smoke run)
 *   --no-write  print only; by default the "## upscale" section of bench/RESULTS.md is replaced.
 */
import { RESULTS_FILE, writeResultsSection } from './results-file.js';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp, { type Sharp } from 'sharp';
import { closeIdlePools } from '../src/processors/upscale/inference.pool.js';
import { PACKAGE_RANGE, SCALES, type ModelName, type Scale } from '../src/processors/upscale/esrgan.models.js';
import { upscaleRaw } from '../src/processors/upscale/upscale.pipeline.js';
import { defaultModel } from '../src/processors/upscale/upscale.limits.js';
import { reportFigure } from './figures.js';

const argv = process.argv.slice(2);
const QUICK = argv.includes('--quick');
const WRITE = !argv.includes('--no-write');
const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURES = path.resolve(HERE, '../test/fixtures/images');
const THREADS = os.availableParallelism();

// ---------------------------------------------------------------- metrics

function psnr(a: Uint8Array, b: Uint8Array): number {
  let se = 0;
  for (let i = 0; i < a.length; i++) { const d = a[i] - b[i]; se += d * d; }
  return se === 0 ? Infinity : 10 * Math.log10((255 * 255 * a.length) / se);
}

function luma(rgb: Uint8Array, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) y[i] = 0.299 * rgb[i * 3] + 0.587 * rgb[i * 3 + 1] + 0.114 * rgb[i * 3 + 2];
  return y;
}

/** Separable Gaussian blur (11 taps, σ 1.5), 'valid' region only. */
function blur(src: Float64Array, w: number, h: number): { data: Float64Array; w: number; h: number } {
  const k = Array.from({ length: 11 }, (_, i) => Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5)));
  const sum = k.reduce((a, b) => a + b, 0);
  const g = k.map((v) => v / sum);
  const w1 = w - 10, h1 = h - 10;
  const tmp = new Float64Array(w1 * h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w1; x++) {
    let s = 0; for (let t = 0; t < 11; t++) s += g[t] * src[y * w + x + t]; tmp[y * w1 + x] = s;
  }
  const out = new Float64Array(w1 * h1);
  for (let y = 0; y < h1; y++) for (let x = 0; x < w1; x++) {
    let s = 0; for (let t = 0; t < 11; t++) s += g[t] * tmp[(y + t) * w1 + x]; out[y * w1 + x] = s;
  }
  return { data: out, w: w1, h: h1 };
}

/** SSIM (Wang et al. 2004) on luma, with the paper's constants. */
function ssim(a: Uint8Array, b: Uint8Array, w: number, h: number): number {
  const x = luma(a, w * h), y = luma(b, w * h);
  const mul = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * q[i]);
  const mx = blur(x, w, h).data, my = blur(y, w, h).data;
  const sxx = blur(mul(x, x), w, h).data, syy = blur(mul(y, y), w, h).data, sxy = blur(mul(x, y), w, h).data;
  const c1 = (0.01 * 255) ** 2, c2 = (0.03 * 255) ** 2;
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const vx = sxx[i] - mx[i] * mx[i], vy = syy[i] - my[i] * my[i], cxy = sxy[i] - mx[i] * my[i];
    total += ((2 * mx[i] * my[i] + c1) * (2 * cxy + c2)) / ((mx[i] ** 2 + my[i] ** 2 + c1) * (vx + vy + c2));
  }
  return total / mx.length;
}

// ---------------------------------------------------------------- helpers

async function rawOf(s: Sharp): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await s.removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

function resize(img: { data: Buffer; width: number; height: number }, width: number, height: number) {
  return rawOf(sharp(img.data, { raw: { width: img.width, height: img.height, channels: 3 } }).resize(width, height, { kernel: 'cubic', fit: 'fill' }));
}

function child(job: Record<string, unknown>): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [...process.execArgv, path.join(HERE, 'upscale.child.ts'), JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try { if (code === 0) { resolve(JSON.parse(line)); return; } } catch { /* fall through */ }
      reject(new Error(`child failed (${code}): ${err.slice(-2000)}`));
    });
  });
}

const mb = (b: number) => `${Math.round(b / 2 ** 20)} MB`;
const f = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '∞');

// ---------------------------------------------------------------- 1. speed

interface SpeedCase { model: ModelName; scale: Scale; size: number }
const SPEED: SpeedCase[] = QUICK
  ? [{ model: 'slim', scale: 2, size: 96 }, { model: 'thick', scale: 4, size: 24 }]
  : [
    { model: 'slim', scale: 2, size: 256 }, { model: 'slim', scale: 3, size: 192 }, { model: 'slim', scale: 4, size: 128 }, { model: 'slim', scale: 8, size: 64 },
    { model: 'medium', scale: 2, size: 192 }, { model: 'medium', scale: 4, size: 96 },
    { model: 'thick', scale: 2, size: 64 }, { model: 'thick', scale: 4, size: 48 },
  ];

const onnxRatios: number[] = [];

async function speed(tmp: string): Promise<string[]> {
  const photo = await rawOf(sharp(path.join(FIXTURES, 'coffee.png')));
  const rows: string[] = [
    '| model | scale | input | engine | out MP/s | load s | peak RSS | vs upscaler | equal output (PSNR vs upscaler) |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const c of SPEED) {
    const crop = await rawOf(sharp(photo.data, { raw: { width: photo.width, height: photo.height, channels: 3 } })
      .extract({ left: Math.floor((photo.width - c.size) / 2), top: Math.floor((photo.height - c.size) / 2), width: c.size, height: c.size }));
    const input = path.join(tmp, `in-${c.model}-${c.scale}.raw`);
    await writeFile(input, crop.data);
    const base = { model: c.model, scale: c.scale, input, width: c.size, height: c.size, threads: THREADS };
    const outMp = (c.size * c.scale) ** 2 / 1e6;
    const peerOut = path.join(tmp, 'peer.raw');
    const peer = await child({ ...base, engine: 'upscaler', out: peerOut, patchSize: 128, padding: 8 });
    const peerPixels = await readFile(peerOut);
    const runs: [string, Record<string, number>, Buffer][] = [];
    for (const runtime of ['onnx', 'tfjs'] as const) {
      const out = path.join(tmp, `mf-${runtime}.raw`);
      const r = await child({ ...base, engine: 'mediaflow', runtime, out, tile: 256, range: PACKAGE_RANGE[c.model] });
      runs.push([`mediaflow (${runtime})`, r, await readFile(out)]);
    }
    runs.push(['upscaler', peer, peerPixels]);
    for (const [name, r, pixels] of runs) {
      const mps = outMp / (r.ms / 1000);
      const ratio = peer.ms / r.ms;
      if (name === 'mediaflow (onnx)') onnxRatios.push(ratio);
      const eq = name === 'upscaler' ? '—' : `${f(psnr(pixels, peerPixels), 1)} dB`;
      rows.push(`| ${c.model} | ×${c.scale} | ${c.size}² | ${name} | ${f(mps, 3)} | ${f(r.loadMs / 1000, 1)} | ${mb(r.maxRssBytes)} | ${name === 'upscaler' ? '1.00×' : `${f(ratio)}×`} | ${eq} |`);
      console.log(`speed ${c.model} ×${c.scale} ${c.size}² ${name}: ${f(mps, 3)} MP/s, ${mb(r.maxRssBytes)}, ×${f(ratio)} vs upscaler, equal ${eq}`);
    }
  }
  return rows;
}

// ---------------------------------------------------------------- 2. quality

/** Output megapixels per second of each model and scale in the quality runs (after the first photo, a warm-up). */
const qualitySpeed: Record<string, { mp: number; ms: number }> = {};
const QUALITY_SCALES = [2, 3, 4, 8] as const;

async function quality(): Promise<{ rows: string[]; gains: Record<string, number>; psnrs: Record<string, number> }> {
  const files = (await readdir(FIXTURES)).filter((n) => /\.(png|jpe?g)$/i.test(n)).sort();
  const photos = QUICK ? files.slice(0, 2) : files;
  const models: ModelName[] = ['slim', 'medium', 'thick'];
  const sums: Record<string, { p: number; s: number; n: number }> = {};
  const add = (k: string, p: number, s: number) => { sums[k] ??= { p: 0, s: 0, n: 0 }; sums[k].p += p; sums[k].s += s; sums[k].n++; };
  const size = 192;
  for (const [photoIndex, name] of photos.entries()) {
    const full = await rawOf(sharp(path.join(FIXTURES, name)));
    const hr = await rawOf(sharp(full.data, { raw: { width: full.width, height: full.height, channels: 3 } })
      .extract({ left: Math.floor((full.width - size) / 2), top: Math.floor((full.height - size) / 2), width: size, height: size }));
    for (const scale of QUALITY_SCALES) {
      const lr = await resize(hr, size / scale, size / scale);
      const bic = await resize(lr, size, size);
      add(`bicubic ×${scale}`, psnr(bic.data, hr.data), ssim(bic.data, hr.data, size, size));
      for (const model of models) {
        const variants: [string, (255 | 1) | undefined][] = model === 'thick' ? [['', undefined]] : [['', undefined], [' (package range)', PACKAGE_RANGE[model]]];
        for (const [suffix, range] of variants) {
          if (suffix && scale !== 4) continue; // ×2 uses the package range already; ×3 and ×8 follow ×4
          const t0 = performance.now();
          const r = await upscaleRaw({ ...lr, channels: 3 }, { model, scale, tile: 256, threads: THREADS, range });
          if (!suffix && (photoIndex > 0 || photos.length === 1)) {
            const k = `${model} ×${scale}`;
            qualitySpeed[k] ??= { mp: 0, ms: 0 };
            qualitySpeed[k].mp += (size * size) / 1e6;
            qualitySpeed[k].ms += performance.now() - t0;
          }
          add(`${model}${suffix} ×${scale}`, psnr(r.image.data, hr.data), ssim(r.image.data, hr.data, size, size));
        }
      }
      console.log(`quality ${name} ×${scale} done`);
    }
  }
  await closeIdlePools();
  const rows = ['| method | PSNR dB | gain over bicubic | SSIM |', '|---|---|---|---|'];
  const gains: Record<string, number> = {};
  const psnrs: Record<string, number> = {};
  for (const scale of QUALITY_SCALES) {
    const floor = sums[`bicubic ×${scale}`];
    for (const [k, v] of Object.entries(sums).filter(([k]) => k.endsWith(`×${scale}`))) {
      const p = v.p / v.n, s = v.s / v.n, gain = p - floor.p / floor.n;
      gains[k] = gain;
      psnrs[k] = p;
      rows.push(`| ${k} | ${f(p)} | ${k.startsWith('bicubic') ? '—' : `${gain >= 0 ? '+' : ''}${f(gain)}`} | ${f(s, 4)} |`);
    }
  }
  return { rows, gains, psnrs };
}

/**
 * The default model per scale, by measured quality per second: among the models that gain at
 * least 0.5 dB over bicubic, the one with the most dB × output MP/s (a faster model can do more
 * images, or larger ones, in the same time); when none reaches 0.5 dB, the most dB × MP/s of all.
 */
function chooseDefaults(gains: Record<string, number>): { rows: string[]; chosen: Record<number, ModelName> } {
  const models: ModelName[] = ['slim', 'medium', 'thick'];
  const rows = ['| scale | model | gain over bicubic | output MP/s | dB × MP/s | chosen by the rule | the processor\'s default |', '|---|---|---|---|---|---|---|'];
  const chosen: Record<number, ModelName> = {};
  for (const scale of QUALITY_SCALES) {
    const cands = models.map((m) => {
      const sp = qualitySpeed[`${m} ×${scale}`];
      const mps = sp ? sp.mp / (sp.ms / 1000) : NaN;
      const gain = gains[`${m} ×${scale}`] ?? NaN;
      return { m, gain, mps, score: gain * mps };
    });
    const eligible = cands.filter((c) => c.gain >= 0.5);
    const best = (eligible.length ? eligible : cands).reduce((a, b) => (b.score > a.score ? b : a));
    chosen[scale] = best.m;
    for (const c of cands) {
      rows.push(`| ×${scale} | ${c.m} | ${c.gain >= 0 ? '+' : ''}${f(c.gain)} dB | ${f(c.mps, 3)} | ${f(c.score, 3)} | ${c.m === best.m ? '**yes**' : ''} | ${defaultModel(scale) === c.m ? 'yes' : ''} |`);
    }
  }
  return { rows, chosen };
}

// ---------------------------------------------------------------- 3. large image

async function large(tmp: string): Promise<string> {
  const [w, h] = QUICK ? [800, 600] : [4000, 3000];
  const file = path.join(tmp, 'large.jpg');
  await sharp(path.join(FIXTURES, 'astronaut.png')).resize(w, h, { fit: 'fill', kernel: 'cubic' }).jpeg({ quality: 92 }).toFile(file);
  const r = await child({ engine: 'processor', model: 'slim', scale: 2, input: file, width: w, height: h, threads: THREADS, tile: 256 });
  const line = `${w}×${h} JPEG, slim ×2 → ${w * 2}×${h * 2} JPEG through the processor (${r.tiles} tiles, ${r.runtime ?? 'onnx'}): `
    + `${f(r.ms / 1000, 1)} s (${f((w * h * 4) / 1e6 / (r.ms / 1000), 3)} output MP/s), peak RSS ${mb(r.maxRssBytes)}, worst event-loop delay ${f(r.maxLagMs, 0)} ms`;
  console.log(line);
  return line;
}

// ---------------------------------------------------------------- main

const tmp = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-upscale-bench-'));
const started = Date.now();
try {
  const speedRows = await speed(tmp);
  const q = await quality();
  const big = await large(tmp);
  const d = chooseDefaults(q.gains);
  const defaultGain4 = q.gains[`${defaultModel(4)} ×4`]!;
  reportFigure({ name: `PSNR gain over bicubic at ×4, default model (${defaultModel(4)})`, value: defaultGain4, unit: 'dB', peer: { name: 'slim', value: q.gains['slim ×4']! }, better: 'higher', goal: '≥ +0.5 dB' });
  reportFigure({ name: 'speed vs the upscaler package, same weights (slowest case)', value: Math.min(...onnxRatios), unit: '× upscaler', peer: { name: 'upscaler', value: 1 }, better: 'higher', goal: '≥ 1.5×' });
  const agree = QUALITY_SCALES.every((sc) => d.chosen[sc] === defaultModel(sc));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const section = [
    '## upscale',
    '',
    `Machine: ${os.cpus().length} × ${cpu.trim()}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; load average at start ${os.loadavg()[0].toFixed(1)}. `
      + `Run: \`npx tsx bench/upscale.bench.ts${QUICK ? ' --quick' : ''}\` (${new Date().toISOString().slice(0, 10)}, ${Math.round((Date.now() - started) / 1000)} s).`,
    '',
    '### Speed and memory (one process per run; input: centre crop of coffee.png)',
    '',
    `Fastest of 2 timed runs after a warm-up, each engine in its own process. Mediaflow: tile 256, ${THREADS} threads. upscaler 1.0.0: its own pipeline, patchSize 128, padding 8, on @tensorflow/tfjs 4.11 + wasm (single-threaded in Node). `
      + 'Mediaflow runs with the packages\' value ranges here so the outputs can be compared.',
    '',
    ...speedRows,
    '',
    '### Quality (centre 192×192 crops of the 9 photographs in test/fixtures/images, mean over photos)',
    '',
    'Downscaled with bicubic (sharp), upscaled back, compared with the original crop. PSNR over RGB, SSIM on luma. '
      + '"package range": the value range the packages declare (0..255 for slim/medium); Mediaflow\'s default uses 0..1 at ×3/×4/×8 (see src/processors/upscale/esrgan.models.ts). '
      + `The processor's default model: ${SCALES.map((sc) => `${defaultModel(sc)} at ×${sc}`).join(', ')}. ×8 starts from 24×24 pixels here.`,
    '',
    ...q.rows,
    '',
    '### Default model by quality per second (the quality runs above, timed after the first photo; 192² outputs, so per-call overhead weighs a little)',
    '',
    'Rule: among the models gaining at least 0.5 dB over bicubic (all of them when none does), the most dB × output MP/s. '
      + (agree ? 'The processor\'s defaults (src/processors/upscale/upscale.limits.ts) are the rule\'s choice at every scale measured.'
        : `The rule chose ${QUALITY_SCALES.map((sc) => `${d.chosen[sc]} at ×${sc}`).join(', ')}; the processor's defaults differ (${QUALITY_SCALES.map((sc) => `${defaultModel(sc)} at ×${sc}`).join(', ')}).`),
    '',
    ...d.rows,
    '',
    '### A large image',
    '',
    big,
    '',
    `Goals: ≥ 1.5× the speed of upscaler with equal output — mediaflow (onnx) is ${f(Math.min(...onnxRatios))}× to ${f(Math.max(...onnxRatios))}× `
      + `(${onnxRatios.every((r) => r >= 1.5) ? 'met' : 'NOT met'} for every row); PSNR ≥ bicubic + 0.5 dB at ×4 — `
      + (['slim', 'medium', 'thick'] as const).map((m) => `${m} +${f(q.gains[`${m} ×4`])} dB (${q.gains[`${m} ×4`] >= 0.5 ? 'met' : 'not met'})`).join(', ')
      + `. The default model at ×4 is ${defaultModel(4)} (+${f(defaultGain4)} dB: ${defaultGain4 >= 0.5 ? 'met' : 'NOT met'}).`,
    '',
    'Photographs (test/fixtures/images; sources in its SOURCES.md): astronaut (NASA, public domain), brick and gravel (CC0Textures, CC0), '
      + 'camera (Lav Varshney, CC0), chelsea (Stefan van der Walt, CC0), coffee (Rachel Michetti, CC0), rocket (SpaceX, public domain), all via scikit-image; '
      + 'face (Pexels, CC0, via IBM MAX samples); “china.jpg” by danielbuechele on Flickr, CC BY 2.0, via scikit-learn.',
    '',
  ].join('\n');
  console.log(`\n${section}`);
  if (WRITE) {
    writeResultsSection('upscale', section);
    console.log(`written to ${RESULTS_FILE}`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
