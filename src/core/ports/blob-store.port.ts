import type { Readable } from 'node:stream';

export interface BlobInfo {
  sha256: string;
  size: number;
}

/** A blob as listed by the sweeper: its age decides whether an unreferenced blob may go. */
export interface BlobEntry extends BlobInfo {
  /** Last write or touch (a `put` of content already stored touches it), ms since the epoch. */
  modifiedMs: number;
}

export interface PutOptions {
  /** Refuse (INPUT_TOO_LARGE) and remove the partial data past this many bytes. */
  maxBytes?: number;
  signal?: AbortSignal;
}

/**
 * Content-addressed file storage (sha256). Writes are streamed and hashed on the way, never held
 * whole in memory, and atomic: a blob is either complete under its hash or absent.
 * Adapters: local filesystem (src/adapters/fs), S3-compatible object storage (src/adapters/s3).
 *
 * Lifecycle: nothing above the port deletes a blob that a job may still need. Blobs are collected
 * by the sweeper (src/core/blob-sweeper.ts) when no job references them and they were not written
 * or touched for `blobs.graceMs`; `put` of content already stored touches it, so a submit racing
 * the sweeper keeps its blob (see `deleteIfUnchanged`).
 */
export interface BlobStore {
  put(source: Readable | Buffer, opts?: PutOptions): Promise<BlobInfo>;
  putFile(file: string, opts?: PutOptions): Promise<BlobInfo>;
  /** Reads a blob, or the inclusive byte range of it. Throws NOT_FOUND when absent. */
  open(sha256: string, range?: { start: number; end: number }): Promise<Readable>;
  stat(sha256: string): Promise<BlobInfo | null>;
  /**
   * Runs `fn` with a local path holding the blob's bytes (read-only; never modify or delete it).
   * The fs adapter hands out the blob itself; an object-store adapter downloads it into `scratchDir`
   * and removes the copy when `fn` settles.
   */
  withLocalFile<T>(sha256: string, scratchDir: string, fn: (file: string) => Promise<T>): Promise<T>;
  /** Every stored blob (for the sweeper), in no particular order. */
  list(): AsyncIterable<BlobEntry>;
  /**
   * Deletes the blob only if it was not written or touched since `notModifiedSinceMs`; answers
   * whether it did. The check and the delete are one step as far as the adapter can make them (the
   * fs adapter moves the file aside first, re-checks, then removes or restores it).
   */
  deleteIfUnchanged(sha256: string, notModifiedSinceMs: number): Promise<boolean>;
  /** Unconditional delete; idempotent. */
  delete(sha256: string): Promise<void>;
  /** Removes partial writes (temporary files, unfinished multipart uploads) started before `beforeMs` (ms since the epoch). */
  sweepPartial(beforeMs: number): Promise<number>;
  /** A time-limited URL clients may download the blob from directly, where the adapter has one (served as an attachment unless `inline`). */
  presignedUrl?(sha256: string, opts: { fileName: string; mime: string; expiresSeconds: number; inline?: boolean }): Promise<string>;
  /** Free bytes on the device, or null when unknown (object storage). */
  freeBytes(): Promise<number | null>;
  ping(): Promise<void>;
  close?(): Promise<void>;
}
