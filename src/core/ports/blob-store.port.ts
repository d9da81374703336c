import type { Readable } from 'node:stream';

export interface BlobInfo {
  sha256: string;
  size: number;
}

export interface PutOptions {
  /** Refuse (INPUT_TOO_LARGE) and remove the partial data past this many bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Content-addressed file storage (sha256). Writes are streamed and hashed on the way, never held
 * whole in memory, and atomic: a blob is either complete under its hash or absent.
 * Implementations: local filesystem (src/blobs/fs); S3-compatible storage for the distributed mode.
 */
export interface BlobStore {
  put(source: Readable | Buffer, opts?: PutOptions): Promise<BlobInfo>;
  putFile(file: string): Promise<BlobInfo>;
  /** A local file path holding the blob (for the fs store, the blob itself: read-only). */
  localPath(sha256: string): Promise<string>;
  open(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  stat(sha256: string): Promise<BlobInfo | null>;
  delete(sha256: string): Promise<void>;
  /** Free bytes on the device (for /ready and for refusing uploads early). */
  freeBytes(): Promise<number>;
  ping(): Promise<void>;
}
