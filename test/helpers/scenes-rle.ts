/**
 * An independent reader of the seed's `mask_rle` (base64 of pycocotools' compressed RLE string),
 * written from the format's description rather than from the module under test: 6-bit characters
 * from '0' (48), five value bits each, 0x20 = more to come, 0x10 in the last one = negative; from the
 * fourth count on, each is a difference to the count two places before; counts alternate 0s and 1s,
 * column by column.
 */
export function decodeSeedMask(maskRle: { counts: string; size: [number, number] }): Uint8Array {
  const [h, w] = maskRle.size;
  const s = Buffer.from(maskRle.counts, 'base64');
  const counts: number[] = [];
  let p = 0;
  while (p < s.length) {
    let value = 0, shift = 0, byte: number;
    do {
      byte = s[p++] - 48;
      if (byte < 0 || byte > 63) throw new Error(`bad RLE byte at ${p - 1}`);
      value += (byte & 31) * Math.pow(2, shift);
      shift += 5;
    } while (byte & 32);
    if (byte & 16) value -= Math.pow(2, shift);
    if (counts.length >= 3) value += counts[counts.length - 2];
    counts.push(value);
  }
  const mask = new Uint8Array(h * w);
  let idx = 0;
  counts.forEach((n, j) => {
    for (let k = 0; k < n; k++, idx++) if (j % 2) mask[(idx % h) * w + Math.floor(idx / h)] = 1;
  });
  if (idx !== h * w) throw new Error(`RLE covers ${idx} pixels, not ${h * w}`);
  return mask;
}
