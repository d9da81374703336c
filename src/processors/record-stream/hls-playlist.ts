import { InputError } from '../../core/errors.js';

export interface HlsVariant {
  /** Position among the master playlist's variants: ffmpeg's HLS demuxer numbers its programs the same way. */
  index: number;
  bandwidth: number;
  width?: number;
  height?: number;
  uri: string;
}

export interface HlsPlaylistInfo {
  kind: 'master' | 'media';
  /** Master playlists only, in file order. */
  variants: HlsVariant[];
  /** Media playlists only: `#EXT-X-ENDLIST` present (a finished or VOD stream). */
  ended: boolean;
  /** Media playlists only: `#EXT-X-TARGETDURATION`, seconds (the longest segment; players reload about this often). */
  targetDuration?: number;
}

/** Attribute lists of RFC 8216 §4.2: `KEY=value,KEY="quoted, value"`. */
function attributes(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of s.matchAll(/([A-Z0-9-]+)=("[^"]*"|[^,]*)/g)) out[m[1]] = m[2].replace(/^"|"$/g, '');
  return out;
}

/**
 * Reads just enough of an HLS playlist (RFC 8216) to record it: is it HLS at all, is it a master
 * playlist and with which variants, has a media playlist ended. Hand-written because only these
 * three facts are needed; ffmpeg does the real parsing.
 */
export function parseHlsPlaylist(text: string): HlsPlaylistInfo {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/).map((l) => l.trim());
  if (lines[0] !== '#EXTM3U') throw new InputError('INPUT_UNSUPPORTED_TYPE', 'The URL does not point to an HLS playlist (no #EXTM3U header)');
  const variants: HlsVariant[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i].startsWith('#EXT-X-STREAM-INF:')) continue;
    const a = attributes(lines[i].slice('#EXT-X-STREAM-INF:'.length));
    const uri = lines.slice(i + 1).find((l) => l && !l.startsWith('#'));
    if (!uri) continue;
    const [w, h] = (a.RESOLUTION ?? '').split('x').map(Number);
    variants.push({ index: variants.length, bandwidth: Number(a.BANDWIDTH) || 0, ...(w && h ? { width: w, height: h } : {}), uri });
  }
  if (variants.length > 0) return { kind: 'master', variants, ended: false };
  const td = Number(lines.find((l) => l.startsWith('#EXT-X-TARGETDURATION:'))?.split(':')[1]);
  return { kind: 'media', variants: [], ended: lines.includes('#EXT-X-ENDLIST'), ...(td > 0 ? { targetDuration: td } : {}) };
}

/** The variant to record: the highest bandwidth, ties broken by the larger picture. */
export function bestVariant(variants: readonly HlsVariant[]): HlsVariant | undefined {
  return [...variants].sort((a, b) => b.bandwidth - a.bandwidth || (b.height ?? 0) - (a.height ?? 0))[0];
}
