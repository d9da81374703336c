import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The dependency rules of src/, read from the import statements: dependencies point down, and
// shared code lives in one layer rather than in a processor its siblings reach into.
const SRC = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : e.name.endsWith('.ts') ? [p] : [];
  });
}

/** file (relative to src, with /) → the files under src it imports (type-only and dynamic imports too). */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'(\.{1,2}\/[^']+)'/gm)].map((m) => m[1]);
    const rel = (p: string) => path.relative(SRC, p).split(path.sep).join('/');
    graph.set(rel(file), specs.map((s) => rel(path.resolve(path.dirname(file), s)).replace(/\.js$/, '.ts')));
  }
  return graph;
}

const graph = importGraph();
const layer = (f: string) => f.split('/')[0];
const edges = [...graph].flatMap(([from, tos]) => tos.map((to) => ({ from, to })));

test('the import graph is read: every relative import names a file that exists', () => {
  assert.ok(graph.size > 100, `only ${graph.size} files`);
  const dangling = edges.filter((e) => !graph.has(e.to));
  assert.deepEqual(dangling, []);
});

test('dependencies point down: core, media, models and net import nothing above them; worker not http', () => {
  const below: Record<string, string[]> = {
    core: ['core', 'config', 'util'],
    config: ['config', 'util'],
    util: ['util'],
    media: ['media', 'core', 'config', 'util'],
    models: ['models', 'core', 'config', 'util'],
    net: ['net', 'core', 'config', 'util'],
  };
  const upward = edges.filter((e) => below[layer(e.from)] && !below[layer(e.from)].includes(layer(e.to)));
  assert.deepEqual(upward, []);
  assert.deepEqual(edges.filter((e) => layer(e.from) === 'worker' && layer(e.to) === 'http'), []);
});

test('a processor imports no sibling processor (orientation is built on segment)', () => {
  const processorOf = (f: string) => (f.startsWith('processors/') && f.split('/').length > 2 ? f.split('/')[1] : null);
  const crossing = edges.filter((e) => {
    const a = processorOf(e.from);
    const b = processorOf(e.to);
    return a && b && a !== b && !(a === 'orientation' && b === 'segment');
  });
  assert.deepEqual(crossing, []);
});

test('no import cycles but the known one in upscale\'s runtimes', () => {
  const known = new Set(['processors/upscale/runtime.types.ts']);
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') cycles.push(stack.slice(stack.indexOf(to)));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles.filter((c) => !c.some((f) => known.has(f))), []);
});
