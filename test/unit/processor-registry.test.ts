import { test } from 'node:test';
import assert from 'node:assert/strict';
import { enabledProcessors, getProcessor, isProcessorName, processors, type ProcessorRegistry } from '../../src/processors/registry.js';
import { noopProcessor, sleepProcessor } from '../../src/processors/testing/index.js';

// Type-level cases, checked by `npm run typecheck` (tsc reads test/): each `@ts-expect-error` fails
// the type check if the line below it compiles, i.e. if the registry stopped catching the mistake.
export const typeCases = {
  // @ts-expect-error a name without a definition (every other processor is missing here)
  lacking: { noop: noopProcessor } satisfies ProcessorRegistry,
  // @ts-expect-error a definition under a name that ProcessorName does not declare
  undeclared: { ...processors, extra: noopProcessor } satisfies ProcessorRegistry,
  // @ts-expect-error a definition filed under another processor's name
  misfiled: { ...processors, noop: sleepProcessor } satisfies ProcessorRegistry,
};

test('every processor is filed under its own name, and the names are the ones the API knows', () => {
  for (const [name, def] of Object.entries(processors)) assert.equal(def.name, name);
  assert.ok(isProcessorName('download-video'));
  assert.ok(!isProcessorName('toString'), 'inherited properties are not processors');
  assert.equal(getProcessor('noop', false), undefined, 'test processors stay hidden unless enabled');
  assert.equal(getProcessor('noop', true), noopProcessor);
  assert.deepEqual(enabledProcessors(false).map((p) => p.name).sort(),
    ['download', 'download-video', 'ocr', 'orientation', 'record-stream', 'segment', 'separate', 'upscale']);
});
