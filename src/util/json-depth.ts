/**
 * Nesting limits for JSON that clients send. Deeply nested values make recursive code (cloning,
 * schema validation, canonical serialisation) overflow the stack: they are refused where they enter.
 */

/** Deeper than any request or params object needs; far below what recursion can take. */
export const MAX_JSON_DEPTH = 64;

/** Whether JSON text nests arrays/objects deeper than `max`, by scanning it (no recursion, no parse). */
export function jsonTextTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return false;
}

/** Whether a value nests deeper than `max` (iterative; a cycle counts as too deep). */
export function valueTooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length) {
    const [v, d] = stack.pop()!;
    if (!v || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Object.values(v)) if (child && typeof child === 'object') stack.push([child, d + 1]);
  }
  return false;
}
