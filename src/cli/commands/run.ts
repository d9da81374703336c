import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { InputError } from '../../core/errors.js';
import { validateParams } from '../../core/params.js';
import { mimeMatches, sniffMime } from '../../media/sniff.js';
import { downloadToFile } from '../../net/index.js';
import type { JobInput, OutputInfo } from '../../core/processor.types.js';
import { getProcessor, enabledProcessors } from '../../processors/registry.js';
import { createLocalContext, fileInputFromPath } from '../../worker/local-context.js';
import { configFrom, withConfigOptions } from '../options.js';
import { progressLine } from '../progress-line.js';

/** `--param k=v` repeated → an object (values stay strings; the params schema coerces them). */
function collectParam(value: string, prev: Record<string, string>) {
  const i = value.indexOf('=');
  if (i <= 0) throw new InputError('PARAMS_INVALID', `--param expects key=value, got ${JSON.stringify(value)}`);
  return { ...prev, [value.slice(0, i)]: value.slice(i + 1) };
}

export function registerRun(program: Command) {
  withConfigOptions(program.command('run'))
    .description('run one processor on a file or URL here and now, writing its outputs to a folder')
    .argument('<processor>', 'processor name (see `mediaflow run --list`)')
    .argument('<input>', 'a file path, or a URL')
    .option('--param <key=value>', 'a processor parameter (repeatable)', collectParam, {})
    .option('-o, --out <dir>', 'output folder', 'mediaflow-out')
    .option('--then <step>', 'then run another processor on an output of the step before: processor[:output][?key=value&…] (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option('--json', 'print the result as JSON only')
    .addHelpText('after', () => `\nProcessors: ${enabledProcessors(false).map((p) => p.name).join(', ')}\n`
      + 'Chain example: mediaflow run download https://example.org/song.mp3 --then separate --then \'upscale:cover.png?scale=4\'')
    .action(async (name: string, inputArg: string, opts) => {
      if (!opts.then.length) return void (await runLocal(name, inputArg, opts.param, opts));
      await runChain([{ processor: name, params: opts.param }, ...opts.then.map(parseThen)], inputArg, opts);
    });
}

/** One `--then` step: `processor[:output][?key=value&…]`. */
export interface ChainStep {
  processor: string;
  /** The output of the step before to take (default: the first one this processor accepts). */
  output?: string;
  params: Record<string, unknown>;
}

export function parseThen(spec: string): ChainStep {
  const [head, query = ''] = spec.split('?', 2) as [string, string?];
  const [processor, output] = head.split(':', 2) as [string, string?];
  if (!processor) throw new InputError('INVALID_REQUEST', `--then expects processor[:output][?key=value], got ${JSON.stringify(spec)}`);
  return { processor, output: output || undefined, params: Object.fromEntries(new URLSearchParams(query)) };
}

/**
 * Runs steps one after the other here and now: each step's outputs go to `<out>/<n>-<processor>/`,
 * and the next step takes the named output (or the first output whose type it accepts).
 */
export async function runChain(steps: ChainStep[], inputArg: string, opts: RunLocalOptions): Promise<unknown[]> {
  const config = configFrom(opts as unknown as Record<string, unknown>, opts.extra ?? {});
  const results: unknown[] = [];
  let input = inputArg;
  for (const [i, step] of steps.entries()) {
    const out = path.join(opts.out, `${i + 1}-${step.processor}`);
    const r = await runLocal(step.processor, input, step.params, { ...opts, out });
    results.push(r.result);
    const next = steps[i + 1];
    if (!next) break;
    const nextProcessor = getProcessor(next.processor, config.enableTestProcessors);
    if (!nextProcessor) throw new InputError('PROCESSOR_UNKNOWN', `Unknown processor ${next.processor}`);
    const accept = nextProcessor.input.kind === 'file' ? nextProcessor.input.accept : [];
    const pick = next.output
      ? r.outputs.find((o) => o.name === next.output)
      : r.outputs.find((o) => mimeMatches(o.mime, accept));
    if (!pick) {
      throw new InputError(next.output ? 'UPSTREAM_OUTPUT_MISSING' : 'INPUT_UNSUPPORTED_TYPE',
        next.output ? `${step.processor} wrote no output ${JSON.stringify(next.output)} (it wrote ${r.outputs.map((o) => o.name).join(', ') || 'none'})`
          : `${step.processor} wrote no output that ${next.processor} accepts (${accept.join(', ')})`);
    }
    input = path.join(out, pick.name);
  }
  return results;
}

export interface RunLocalOptions {
  out: string;
  json?: boolean;
  data?: string;
  config?: string;
  logLevel?: string;
  /** Extra configuration (e.g. `{ network: { allowPrivate: true } }`). */
  extra?: Record<string, unknown>;
}

/**
 * Runs one processor here and now (no server, no queue): the input is checked as the API would,
 * the outputs are written to `out/`, progress goes to stderr, the result JSON to stdout and
 * `out/result.json`. Ctrl-C cancels (processors keep what they finished, e.g. recorded fragments).
 */
export async function runLocal(name: string, inputArg: string, rawParams: Record<string, unknown>, opts: RunLocalOptions): Promise<{ result: unknown; outputs: OutputInfo[] }> {
  const config = configFrom(opts as unknown as Record<string, unknown>, opts.extra ?? {});
  const processor = getProcessor(name, config.enableTestProcessors);
  if (!processor) throw new InputError('PROCESSOR_UNKNOWN', `Unknown processor ${name}; known: ${enabledProcessors(config.enableTestProcessors).map((p) => p.name).join(', ')}`);
  const params = validateParams(processor, rawParams);
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-run-'));
  const bar = opts.json ? null : progressLine(process.stderr);
  const ctx = await createLocalContext({
    config,
    outDir: path.resolve(opts.out),
    signal: controller.signal,
    onProgress: (f, stage) => bar?.update(f, stage),
    onLog: (m, level) => { if (level !== 'debug') bar?.log(`[${level}] ${m}`); },
    onOutput: (o) => bar?.log(`wrote ${path.join(opts.out, o.name)} (${o.size} bytes)`),
  });
  try {
    let input: JobInput;
    const isUrl = /^https?:\/\//i.test(inputArg);
    if (processor.input.kind === 'url') {
      if (!isUrl) throw new InputError('URL_INVALID', `${name} takes an http(s) URL`);
      input = { kind: 'url', url: inputArg };
    } else {
      let file = inputArg;
      if (isUrl) {
        file = path.join(scratch, 'input');
        await downloadToFile(inputArg, file, { config, maxBytes: config.uploadLimitMb * 1048576, signal: controller.signal, hash: false });
      }
      const mime = await sniffMime(file);
      if (!mimeMatches(mime, processor.input.accept)) throw new InputError('INPUT_UNSUPPORTED_TYPE', `${name} does not accept ${mime}`);
      const fi = await fileInputFromPath(file, mime);
      if (!isUrl) fi.name = path.basename(inputArg);
      await processor.validate?.(fi, config, params);
      input = fi;
    }
    const result = await processor.run(ctx, input, params);
    bar?.done();
    await writeFile(path.join(path.resolve(opts.out), 'result.json'), JSON.stringify(result, null, 2));
    console.log(JSON.stringify(result, null, opts.json ? 0 : 2));
    return { result, outputs: ctx.outputs };
  } finally {
    bar?.done();
    await ctx.dispose();
    await rm(scratch, { recursive: true, force: true });
  }
}
