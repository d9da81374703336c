import { MediaflowError } from '../../core/errors.js';

const SHA = /^[0-9a-f]{64}$/;
const BLOB_KEY = /blobs\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/;

/**
 * The bucket layout under a prefix: `<prefix>blobs/ab/cd/<sha256>` for content (the fs adapter's
 * fan-out, so listings of one folder stay short on stores that emulate folders) and
 * `<prefix>tmp/<uuid>` for uploads in progress, which the sweeper may remove when stale.
 */
export class S3Keys {
  readonly prefix: string;

  constructor(prefix = '') {
    // `mediaflow` and `mediaflow/` mean the same folder; an empty prefix is the bucket's root.
    this.prefix = prefix && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  }

  get blobs(): string {
    return `${this.prefix}blobs/`;
  }

  get tmp(): string {
    return `${this.prefix}tmp/`;
  }

  /** Throws NOT_FOUND for anything but a sha256 in hex, as the fs adapter does. */
  blob(sha256: string): string {
    if (!SHA.test(sha256)) throw new MediaflowError('NOT_FOUND', 'invalid blob id');
    return `${this.blobs}${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }

  temporary(id: string): string {
    return `${this.tmp}${id}`;
  }

  /** The sha256 of a content key, or null for any other key found under the prefix. */
  shaOf(key: string | undefined): string | null {
    if (!key?.startsWith(this.blobs)) return null;
    const m = BLOB_KEY.exec(key);
    return m && key === this.blob(m[1]!) ? m[1]! : null;
  }
}

export function isSha256(s: string): boolean {
  return SHA.test(s);
}
