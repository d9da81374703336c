import type { FastifyRequest } from 'fastify';
import { InputError, isMediaflowError } from '../core/errors.js';
import { MAX_JSON_DEPTH, jsonTextTooDeep } from '../util/json-depth.js';
import type { JobService, StagedBlob } from '../core/jobs.service.js';

export interface ParsedMultipart {
  fields: Record<string, string>;
  /** The uploaded file, already streamed into the blob store (not yet attached to a job). */
  file: StagedBlob | null;
  /** The form field the file came in. */
  fileField: string | null;
  /** The client's file name as sent (before normalisation), for extension checks. */
  rawFileName: string | null;
}

/**
 * Reads a multipart request: text fields into `fields`, the first file part (of `fileFields`)
 * streamed into the blob store through the job service (hashed on the way, size-limited, never
 * held whole in memory). A file part with an empty name is treated as "no file" (what a browser
 * sends for an empty file input). A staged blob that no job uses is left to the blob sweeper.
 */
export async function readMultipart(request: FastifyRequest, jobs: JobService, fileFields: string[]): Promise<ParsedMultipart> {
  const out: ParsedMultipart = { fields: {}, file: null, fileField: null, rawFileName: null };
  // A file part's stream fails when the body breaks off; the blob store then reports its own error.
  let partError: unknown = null;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'file') {
        if (out.file || !fileFields.includes(part.fieldname) || !part.filename) {
          part.file.resume(); // drain parts we do not use
          if (!part.filename && fileFields.includes(part.fieldname) && !out.file) out.fileField = part.fieldname;
          continue;
        }
        out.rawFileName = part.filename;
        out.fileField = part.fieldname;
        part.file.once('error', (e: unknown) => { partError = e; });
        // Past the size limit the parser stops passing bytes on but waits for the part's end, which a
        // client may never send: fail the upload at once.
        part.file.once('limit', () => part.file.destroy(new InputError('INPUT_TOO_LARGE')));
        out.file = await jobs.stage(part.file, part.filename);
      } else if (typeof part.value === 'string') {
        out.fields[part.fieldname] = part.value;
      }
    }
  } catch (err) {
    throw isParseError(partError) ? malformedAsInput(partError) : malformedAsInput(err);
  }
  return out;
}

/**
 * The multipart parser reports a broken body (truncated, no closing boundary) as a plain Error:
 * that is the client's mistake, a 400. Our own errors, Fastify's limits (with a `code`) and system
 * errors (ENOSPC...) keep their meaning.
 */
function isParseError(err: unknown): err is Error {
  return err instanceof Error && !isMediaflowError(err) && !(err as NodeJS.ErrnoException).code;
}

function malformedAsInput(err: unknown): unknown {
  if (!isParseError(err)) return err;
  return new InputError('INVALID_REQUEST', `The multipart body is malformed: ${err.message}`, { cause: err });
}

/** Parses a JSON-valued form field ("params"). */
export function parseJsonField(value: string | undefined, name: string): unknown {
  if (value === undefined || value === '') return undefined;
  if (jsonTextTooDeep(value)) throw new InputError('INVALID_REQUEST', `The form field "${name}" nests deeper than ${MAX_JSON_DEPTH} levels`);
  try {
    return JSON.parse(value);
  } catch {
    throw new InputError('INVALID_REQUEST', `The form field "${name}" must be JSON`);
  }
}
