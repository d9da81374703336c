import type { Readable } from 'node:stream';
import type { TSchema, Static } from 'typebox';
import type { AppConfig } from '../config/config.schema.js';

/**
 * The processor contract (see DESIGN.md, "The processor contract").
 *
 * A processor is a pure unit of work: it reads its input through `JobInput`, writes outputs and
 * reports progress through the `ProcessorContext`, and returns a small JSON result. It never touches
 * the job store, the queue or HTTP. Expected failures (bad input, unsupported format) throw an
 * `InputError` from src/jobs/errors.ts (never retried); anything else may be retried.
 *
 * Keep a processor's `index.ts` light (schema + policy): load heavy engines (ONNX, tfjs, tesseract)
 * with a dynamic `import()` inside `run`, so that the HTTP process never loads them.
 */

/** Where the job's input lives when `run` is called. */
export interface FileInput {
  kind: 'file';
  /** Absolute path of a read-only file holding the input bytes. Do not modify or delete it. */
  path: string;
  /** The client's file name, already normalised to a safe name (no directories, no control chars). */
  name: string;
  /** Detected media type (by content, not by extension), e.g. `image/png`. */
  mime: string;
  size: number;
  sha256: string;
}

export interface UrlInput {
  kind: 'url';
  url: string;
}

export type JobInput = FileInput | UrlInput;

export interface OutputInfo {
  name: string;
  size: number;
  mime: string;
  sha256: string;
}

export interface ProcessorContext {
  readonly jobId: string;
  /** Which attempt this is: 1 for the first run, 2 for the first retry, … */
  readonly attempt: number;
  /** Fires on cancel or timeout. A processor checks it between units of work and stops promptly. */
  readonly signal: AbortSignal;
  /** A private, empty temporary folder for this attempt; removed when the attempt ends. */
  readonly tmpdir: string;
  /** The frozen application configuration (limits, tool paths, model paths, network policy). */
  readonly config: AppConfig;
  /** Report progress: `fraction` in [0, 1], `stage` a short human text ("window 3/12"). Throttled by the caller. */
  progress(fraction: number, stage?: string): void;
  log(message: string, level?: 'debug' | 'info' | 'warn' | 'error'): void;
  /**
   * Store a named output (a file path, a Buffer or a stream). The output is visible to clients as
   * soon as the promise resolves, while the job still runs. `name` must be a plain file name; an
   * output of the same name replaces the earlier one.
   */
  output(name: string, source: string | Buffer | Readable, mime: string): Promise<OutputInfo>;
}

export interface ProcessorPolicy {
  /** Jobs of this processor running at once across all workers (overridable in config). */
  concurrency: number;
  /** Wall-clock limit of one attempt, in milliseconds. */
  timeoutMs: number;
  /** Attempts before the job ends `failed` (worker crashes count as attempts). */
  attempts: number;
  /** First retry delay; doubled each attempt. */
  backoffMs: number;
  /** What the processor mostly uses, for scheduling and docs. */
  resource: 'cpu' | 'io';
}

export interface ProcessorDefinition<P extends TSchema = TSchema, R = unknown> {
  readonly name: string;
  /** Part of the dedup key: bump it when results would change (new model, new algorithm). */
  readonly version: string;
  readonly title: string;
  readonly description: string;
  /** `file`: the job needs uploaded bytes (accepted media types listed). `url`: the job takes a URL. */
  readonly input: { kind: 'file'; accept: readonly string[] } | { kind: 'url' };
  /** TypeBox schema of the params; defaults and descriptions appear in the API docs and the UI form. */
  readonly params: P;
  readonly policy: ProcessorPolicy;
  /** Licence notes for bundled weights, shown in /v1/processors. */
  readonly notes?: string;
  /** Only registered when `MEDIAFLOW_ENABLE_TEST_PROCESSORS=1` (bench and tests). */
  readonly testOnly?: boolean;
  /** Optional readiness check (model file present, tool installed); reported by /ready. */
  check?(config: AppConfig): Promise<{ ok: boolean; detail?: string }>;
  /** Optional facts that depend on the installation (languages found, engine used); shown as `details` in /v1/processors. */
  details?(config: AppConfig): Promise<Record<string, unknown>>;
  /**
   * Optional cheap pre-check of an uploaded input, run by the API at submit time so that obviously
   * bad input gets a 4xx at once (wrong type, image header claiming too many pixels, audio too long).
   * Read headers only; never decode the whole file here. Throw an `InputError`. Params arrive
   * validated against the schema, so only checks the schema cannot express belong here.
   */
  validate?(input: FileInput, config: AppConfig, params: Static<P>): Promise<void>;
  run(ctx: ProcessorContext, input: JobInput, params: Static<P>): Promise<R>;
  /** Frees what the processor keeps between jobs (worker pools, model sessions) when a worker stops. */
  shutdown?(): Promise<void>;
}

/**
 * Helper that keeps the params type of a processor definition inferred from its schema, and its
 * name as a literal type (so the registry can check that each definition is filed under its name).
 */
export function defineProcessor<P extends TSchema, R, N extends string>(def: ProcessorDefinition<P, R> & { readonly name: N }): ProcessorDefinition<P, R> & { readonly name: N } {
  return def;
}
