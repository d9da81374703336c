import assert from 'node:assert/strict';
import { InputError, MediaflowError } from '../../src/core/errors.js';

/**
 * Assertions about Mediaflow's errors, shared by the test files: what a user sees of a failure is
 * its stable code (and whether it is retried), so that is what the tests check.
 */

/** Awaits `p`, which must reject with a MediaflowError of this code (and retryability, when given); returns the error. */
export async function rejectsWith(p: Promise<unknown>, code: string, retryable?: boolean): Promise<MediaflowError> {
  const err = await p.then(() => assert.fail(`expected ${code}, but it succeeded`), (e: unknown) => e);
  assert.ok(err instanceof MediaflowError, `expected a MediaflowError, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  if (retryable !== undefined) assert.equal(err.retryable, retryable, err.message);
  return err;
}

/** For `assert.rejects`/`assert.throws`: an error of this class (MediaflowError unless given) and code, that is not retried. */
export function finalError(code: string, type: typeof MediaflowError = MediaflowError) {
  return (err: unknown): true => {
    assert.ok(err instanceof type, `expected ${type.name}, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.equal(err.retryable, false, err.message);
    return true;
  };
}

/** For `assert.rejects`/`assert.throws`: the client's fault, an InputError of this code (never retried). */
export function inputError(code: string) {
  return finalError(code, InputError);
}

/** The code `p` rejects with, or `'no error'`; for tables of inputs and the code each must get. */
export async function errorCode(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'no error';
  } catch (err) {
    assert.ok(err instanceof MediaflowError, String(err));
    return err.code;
  }
}
