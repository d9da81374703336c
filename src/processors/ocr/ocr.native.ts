import { execFile } from 'node:child_process';

/**
 * The installed `tesseract` command (config `tools.tesseract`, default `tesseract` on the PATH),
 * found once per process: its version and the tessdata folder it reads. When it is there, OCR runs
 * it (one process per page); when not, tesseract.js runs the same engine compiled to WebAssembly.
 * Why prefer the command: the native build is about 1.7× faster per page than the WebAssembly one
 * on the same model (bench/RESULTS.md, "ocr").
 */

export interface NativeTesseract {
  bin: string;
  /** `5.3.0`. */
  version: string;
  /** The folder it reads its language data from, as `tesseract --list-langs` reports it. */
  tessdataDir?: string;
}

export type NativeProbe = { found: NativeTesseract } | { found?: undefined; reason: string };

/** Tesseract before 4 has no LSTM engine and no TSV output. */
const MIN_MAJOR = 4;

const probes = new Map<string, Promise<NativeProbe>>();

function run(bin: string, args: string[]): Promise<{ out: string; err?: import('node:child_process').ExecFileException }> {
  return new Promise((resolve) => {
    execFile(bin, args, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ out: `${stdout}\n${stderr}`, err: err ?? undefined });
    });
  });
}

async function probe(bin: string): Promise<NativeProbe> {
  if (!bin) return { reason: 'tools.tesseract is empty' };
  const v = await run(bin, ['--version']);
  if (v.err?.code === 'ENOENT') return { reason: `${bin} not found` };
  const version = v.out.match(/tesseract\s+v?(\d+\.\d+\.\d+)/i)?.[1];
  if (!version) return { reason: `${bin} --version did not name a Tesseract version${v.err ? ` (${v.err.message.split('\n')[0]})` : ''}` };
  if (Number(version.split('.')[0]) < MIN_MAJOR) return { reason: `${bin} is Tesseract ${version}; ${MIN_MAJOR}.0 or later is needed` };
  // `List of available languages in "/usr/share/tesseract-ocr/5/tessdata/" (4):`
  const list = await run(bin, ['--list-langs']);
  const tessdataDir = list.out.match(/languages in "([^"]+)"/)?.[1]?.replace(/\/+$/, '');
  return { found: { bin, version, tessdataDir } };
}

/** The `tesseract` command at `bin`, probed on first use and remembered for the life of the process. */
export function probeNativeTesseract(bin: string): Promise<NativeProbe> {
  let p = probes.get(bin);
  if (!p) {
    p = probe(bin);
    probes.set(bin, p);
  }
  return p;
}
