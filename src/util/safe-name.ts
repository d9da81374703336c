import path from 'node:path';

/**
 * Normalises a client-supplied file name to a safe, plain name: the last path segment only
 * (both `/` and `\`), no control characters, no leading dots, limited to 200 bytes, never empty.
 * "../../etc/passwd" → "passwd"; "a\u0000b.png" → "ab.png".
 */
export function safeFileName(name: string | undefined | null, fallback = 'file'): string {
  let n = String(name ?? '').normalize('NFC');
  n = n.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  n = n.replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
  n = n.replace(/[<>:"|?*]/g, '_').trim();
  n = n.replace(/^\.+/, '');
  if (Buffer.byteLength(n) > 200) {
    const ext = path.extname(n).slice(0, 16);
    let base = n.slice(0, n.length - ext.length);
    while (Buffer.byteLength(base + ext) > 200) base = base.slice(0, -1);
    n = base + ext;
  }
  return n || fallback;
}

/** True when `name` is already a plain, safe output name (what `ctx.output` requires). */
export function isSafeOutputName(name: string): boolean {
  return name.length > 0 && name.length <= 200 && safeFileName(name, '') === name;
}
