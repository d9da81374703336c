import { open } from 'node:fs/promises';
import type { AppConfig } from '../../config/config.schema.js';
import { InputError } from '../../core/errors.js';
import type { FileInput } from '../../core/processor.types.js';
import { probeImage } from './image.probe.js';

const PNG_IEND = Buffer.from([0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);

/**
 * The submit-time check of an image input, shared by the image processors' `validate`: the header
 * against the pixel limit (never decoding pixels), plus a look at the file's last bytes so that a
 * truncated PNG or JPEG (no IEND chunk / no EOI marker) is refused at once with INPUT_CORRUPT
 * instead of failing later in the job. Reads a few kilobytes at most.
 */
export async function validateImageInput(input: FileInput, config: AppConfig): Promise<void> {
  await probeImage(input.path, { maxPixels: config.limits.maxImagePixels });
  if (input.mime !== 'image/png' && input.mime !== 'image/jpeg') return;
  const fh = await open(input.path, 'r');
  try {
    const n = Math.min(input.size, 4096);
    const tail = Buffer.alloc(n);
    await fh.read(tail, 0, n, input.size - n);
    const ok = input.mime === 'image/png'
      ? tail.includes(PNG_IEND)
      // JPEG: the EOI marker ends the data; some writers append padding or trailers after it.
      : tail.includes(Buffer.from([0xff, 0xd9]));
    if (!ok) throw new InputError('INPUT_CORRUPT', `The ${input.mime === 'image/png' ? 'PNG' : 'JPEG'} file is truncated (its end marker is missing)`);
  } finally {
    await fh.close();
  }
}
