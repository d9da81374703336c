import type { ProcessorDefinition } from '../core/processor.types.js';
import { checksumProcessor, crashProcessor, noopProcessor, sleepProcessor } from './testing/index.js';
import { ocrProcessor } from './ocr/index.js';
import { separateProcessor } from './separate/index.js';
import { upscaleProcessor } from './upscale/index.js';
import { downloadProcessor } from './download/index.js';
import { downloadVideoProcessor } from './download-video/index.js';
import { recordStreamProcessor } from './record-stream/index.js';
import { segmentProcessor } from './segment/index.js';
import { orientationProcessor } from './orientation/index.js';

/** Every processor's name, declared once: the registry below must hold exactly these. */
export type ProcessorName =
  | 'noop' | 'sleep' | 'crash' | 'checksum'
  | 'ocr' | 'separate' | 'upscale' | 'download' | 'download-video' | 'record-stream' | 'segment' | 'orientation';

/** One definition for each name, filed under its own name. */
export type ProcessorRegistry = { readonly [N in ProcessorName]: ProcessorDefinition<any, any> & { readonly name: N } };

/**
 * Every processor, by name. `satisfies ProcessorRegistry` makes the compiler check it both ways: a
 * name in `ProcessorName` without a definition, a definition under a name not in `ProcessorName`,
 * and a definition filed under another processor's name are compile errors
 * (PeerTube's `handlers: { [id in JobType] }`).
 * Test-only processors are registered only when `enableTestProcessors` is on.
 */
export const processors = {
  noop: noopProcessor,
  sleep: sleepProcessor,
  crash: crashProcessor,
  checksum: checksumProcessor,
  ocr: ocrProcessor,
  separate: separateProcessor,
  upscale: upscaleProcessor,
  download: downloadProcessor,
  'download-video': downloadVideoProcessor,
  'record-stream': recordStreamProcessor,
  segment: segmentProcessor,
  orientation: orientationProcessor,
} as const satisfies ProcessorRegistry;

export function isProcessorName(name: string): name is ProcessorName {
  return Object.prototype.hasOwnProperty.call(processors, name);
}

/** The processors a server with this setting exposes. */
export function enabledProcessors(enableTestProcessors: boolean): ProcessorDefinition<any, any>[] {
  return Object.values(processors).filter((p: ProcessorDefinition<any, any>) => enableTestProcessors || !p.testOnly);
}

export function getProcessor(name: string, enableTestProcessors: boolean): ProcessorDefinition<any, any> | undefined {
  if (!isProcessorName(name)) return undefined;
  const p = processors[name] as ProcessorDefinition<any, any>;
  return p.testOnly && !enableTestProcessors ? undefined : p;
}
