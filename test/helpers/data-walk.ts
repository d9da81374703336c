import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every file under `dir` (relative paths), or [] when it does not exist. */
export function walk(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    let names: string[] = [];
    try { names = readdirSync(d); } catch { return; }
    for (const n of names) {
      const p = path.join(d, n);
      if (statSync(p).isDirectory()) visit(p);
      else out.push(path.relative(dir, p));
    }
  };
  visit(dir);
  return out;
}

/** The sha256 names of the blobs stored under `<data>/blobs`. */
export function storedBlobs(data: string): string[] {
  return walk(path.join(data, 'blobs')).filter((f) => !f.startsWith('.tmp')).map((f) => path.basename(f));
}
