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

/**
 * Every processor, by name. The record is typed, so a processor named in `ProcessorName` without a
 * definition is a compile error (PeerTube's `handlers: { [id in JobType] }`).
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
} as const satisfies Record<string, ProcessorDefinition<any, any>>;

export type ProcessorName = keyof typeof processors;

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
