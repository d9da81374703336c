/**
 * Runs one `separate` job in this process, as a worker would, and prints its result and this
 * process's peak RSS as JSON (the model thread lives in this process, so it is counted).
 * Used by bench/separate.bench.ts; run alone: npx tsx bench/separate.child.ts <audio> <outDir> [params-json]
 */
import path from 'node:path';
import { defaultConfig } from '../src/config/load-config.js';
import { sniffMime } from '../src/media/sniff.js';
import { separateProcessor, shutdownSeparate, type SeparateParams } from '../src/processors/separate/index.js';
import { createLocalContext, fileInputFromPath } from '../src/worker/local-context.js';

const [file, outDir, json] = process.argv.slice(2);
const params: SeparateParams = { stems: 'all', shifts: 0, overlap: 0.25, format: 'wav', bitDepth: 32, bitrate: 320, clip: 'none', ...(json ? JSON.parse(json) : {}) };
const config = defaultConfig({ data: path.resolve(outDir), limits: { maxAudioSeconds: 3600 } });
const ctx = await createLocalContext({ config, outDir });
const t0 = performance.now();
try {
  const result = await separateProcessor.run(ctx, await fileInputFromPath(file, await sniffMime(file)), params);
  const wallMs = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ result, wallMs, maxRssMb: process.resourceUsage().maxRSS / 1024 })}\n`);
} finally {
  await ctx.dispose();
  await shutdownSeparate();
}
