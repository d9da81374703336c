import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const RESULTS_FILE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'RESULTS.md');

/**
 * Replaces the `## <name>` section of bench/RESULTS.md with `section` (which starts with its own
 * heading), or appends it; every other section stays as it is. Shared by all benchmarks.
 */
export function writeResultsSection(name: string, section: string): void {
  let text = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : '# Benchmark results\n';
  const body = section.endsWith('\n') ? section : `${section}\n`;
  const start = text.search(new RegExp(`^## ${name}\\s*$`, 'm'));
  if (start < 0) text = `${text.trimEnd()}\n\n${body}`;
  else {
    const rest = text.slice(start + 1).search(/^## /m);
    text = text.slice(0, start) + body + (rest < 0 ? '' : `\n${text.slice(start + 1 + rest)}`);
  }
  writeFileSync(RESULTS_FILE, text.endsWith('\n') ? text : `${text}\n`);
}
