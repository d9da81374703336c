import { readFile } from 'node:fs/promises';
import { MediaflowError } from '../../../core/errors.js';
import { COCO_80, COCO_81_BG, COCO_91 } from './coco-classes.js';
import type { ModelFormat } from './model.types.js';

/** Class id → name, as the model numbers its labels. */
export type ClassNames = readonly (string | null)[];

/** COCO's names, numbered as models of each format number them. */
export function defaultClassNames(format: ModelFormat): ClassNames {
  switch (format) {
    case 'mask-rcnn': return COCO_91;
    case 'mask-rcnn-zoo': return COCO_81_BG;
    case 'yolo-seg': return COCO_80;
  }
}

/**
 * Reads a class-names file: a JSON array (index = class id), a JSON object `{"<id>": "<name>"}`
 * (the form Ultralytics stores in its exports' metadata), or plain text with one name per line
 * (line number from 0 = class id).
 */
export async function loadClassNames(file: string): Promise<ClassNames> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new MediaflowError('MODEL_MISSING', `class names file ${file} cannot be read`, { cause: err });
  }
  const trimmed = text.trim();
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new MediaflowError('MODEL_INVALID', `class names file ${file} is not valid JSON`, { cause: err });
    }
    if (Array.isArray(parsed)) return parsed.map((v) => (v === null ? null : String(v)));
    const out: (string | null)[] = [];
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const id = Number(k);
      if (!Number.isInteger(id) || id < 0 || id > 100_000) throw new MediaflowError('MODEL_INVALID', `class names file ${file}: "${k}" is not a class id`);
      out[id] = String(v);
    }
    return Array.from(out, (v) => v ?? null);
  }
  return text.replace(/\r/g, '').replace(/\n$/, '').split('\n').map((l) => l.trim() || null);
}
