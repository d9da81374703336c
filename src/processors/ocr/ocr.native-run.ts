import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, readFile, symlink, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { InputError, MediaflowError } from '../../core/errors.js';
import type { ResolvedLanguages } from './ocr.languages.js';
import type { NativeTesseract } from './ocr.native.js';

/**
 * One page through the `tesseract` command: the prepared image written to the job's temporary
 * folder, one child process with `OMP_THREAD_LIMIT=1` (one page per core: the worker runs as many
 * pages at once as the processor's concurrency), TSV (+ text, + hOCR on request) read back.
 * The job's signal kills the process at once.
 */

export interface NativePage {
  /** The page text, as the command's `.txt` output has it. */
  text: string;
  /** Tesseract's TSV, header row included. */
  tsv: string;
  /** The command's hOCR document, when asked for. */
  hocr?: string;
}

export interface NativeRunOptions {
  langs: ResolvedLanguages;
  psm: number;
  /** The file's resolution, when it declares one Tesseract would trust. */
  dpi?: number;
  hocr: boolean;
  /** The job's private temporary folder. */
  tmpdir: string;
  signal: AbortSignal;
}

const STDERR_KEEP = 16 * 1024;

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const b = Buffer.alloc(2);
    await fh.read(b, 0, 2, 0);
    return b[0] === 0x1f && b[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/**
 * The `--tessdata-dir` to pass. When every language is a plain `<code>.traineddata` in one folder
 * (a distribution's tessdata, the usual case), that folder. Otherwise a folder in the job's
 * temporary space with each file under the name the command expects: linked when plain, gunzipped
 * when it is a gzipped npm package file (the command reads plain files only).
 */
async function tessdataDir(langs: ResolvedLanguages, tmpdir: string): Promise<string> {
  const files = langs.codes.map((c) => langs.files[c]!);
  const dirs = new Set(files.map((f) => path.dirname(f)));
  const named = langs.codes.every((c) => path.basename(langs.files[c]!) === `${c}.traineddata`);
  if (dirs.size === 1 && named) return [...dirs][0]!;
  const dir = path.join(tmpdir, 'tessdata');
  await mkdir(dir, { recursive: true });
  for (const code of langs.codes) {
    const file = langs.files[code]!;
    const dest = path.join(dir, `${code}.traineddata`);
    if (await isGzip(file)) await pipeline(createReadStream(file), createGunzip(), createWriteStream(dest));
    // Symbolic links may be unavailable (Windows without developer mode): copy then.
    else await symlink(file, dest).catch(() => copyFile(file, dest));
  }
  return dir;
}

function exec(bin: string, args: string[], signal: AbortSignal): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    signal.throwIfAborted();
    const child = spawn(bin, args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      // One thread per page: OpenMP threads inside one page cost more CPU than they save when the
      // other core already runs another page (Tesseract's own advice for parallel pages).
      env: { ...process.env, OMP_THREAD_LIMIT: '1' },
    });
    let stderr = '';
    let settled = false;
    const finish = (fn: () => void) => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    const onAbort = () => {
      child.kill('SIGKILL');
      finish(() => reject(signal.reason));
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (c: string) => {
      stderr += c;
      if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
    });
    child.on('error', (e: NodeJS.ErrnoException) => finish(() => reject(e.code === 'ENOENT'
      ? new MediaflowError('TOOL_MISSING', `${bin} was not found: install tesseract-ocr or set tools.tesseract`, { cause: e })
      : new MediaflowError('INTERNAL', `could not start ${bin}: ${e.message}`, { cause: e }))));
    child.on('close', (code) => finish(() => resolve({ code, stderr })));
  });
}

/** `image` is a binary PGM or PPM, as `prepareImage` makes it. */
export async function recognizeNative(tool: NativeTesseract, image: Buffer, opts: NativeRunOptions): Promise<NativePage> {
  const input = path.join(opts.tmpdir, 'page.pnm');
  const outBase = path.join(opts.tmpdir, 'page');
  await writeFile(input, image);
  const args = [
    input, outBase,
    '--tessdata-dir', await tessdataDir(opts.langs, opts.tmpdir),
    '-l', opts.langs.key,
    '--psm', String(opts.psm),
    // LSTM only, as with tesseract.js: a traineddata that also carries the legacy engine would
    // otherwise run both.
    '--oem', '1',
    ...(opts.dpi ? ['--dpi', String(opts.dpi)] : []),
    '-c', 'tessedit_create_txt=1',
    '-c', 'tessedit_create_tsv=1',
    ...(opts.hocr ? ['-c', 'tessedit_create_hocr=1'] : []),
  ];
  const { code, stderr } = await exec(tool.bin, args, opts.signal);
  if (code !== 0) {
    const line = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Estimating resolution/.test(l)).join(' ').slice(0, 300);
    if (/pixRead|Unsupported image|image file not found|Image file .* cannot be read/i.test(stderr)) {
      throw new InputError('INPUT_CORRUPT', 'The OCR engine could not read the image');
    }
    if (/Failed loading language|Could not initialize tesseract/i.test(stderr)) {
      throw new MediaflowError('MODEL_MISSING', `The OCR engine could not load ${opts.langs.key}: ${line}`);
    }
    throw new MediaflowError('INTERNAL', `OCR failed: tesseract exited with code ${code}: ${line}`);
  }
  const [text, tsv, hocr] = await Promise.all([
    readFile(`${outBase}.txt`, 'utf8'),
    readFile(`${outBase}.tsv`, 'utf8'),
    opts.hocr ? readFile(`${outBase}.hocr`, 'utf8') : undefined,
  ]);
  return { text, tsv, hocr };
}
