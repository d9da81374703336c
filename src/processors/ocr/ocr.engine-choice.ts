import { createRequire } from 'node:module';
import type { AppConfig } from '../../config/config.schema.js';
import { tessdataFolders } from './ocr.languages.js';
import { probeNativeTesseract, type NativeTesseract } from './ocr.native.js';

/**
 * Which engine runs OCR, decided once per process and configuration: the `tesseract` command when
 * `tools.tesseract` names a working one, tesseract.js otherwise. Light (no engine loaded), so that
 * the processor's check and description can use it in the API process.
 */

/** `tesseract.js 7.0.0 (Tesseract 5.1.0)`: the package version, and the core's once a page has reported it. */
let engineName: string | undefined;
export function engineLabel(tesseractVersion: string | undefined): string {
  if (!engineName) {
    const require = createRequire(import.meta.url);
    const { version } = require('tesseract.js/package.json') as { version: string };
    engineName = `tesseract.js ${version}`;
  }
  const core = tesseractVersion?.match(/^\d+\.\d+\.\d+/)?.[0];
  return core ? `${engineName} (Tesseract ${core})` : engineName;
}

/** Which engine runs this process's OCR jobs under `config`, and the tessdata folders it searches. */
export interface OcrEngineChoice {
  native?: NativeTesseract;
  /** Why the command is not used, when it is not. */
  reason?: string;
  folders: string[];
  /** `tesseract 5.3.0`, or `tesseract.js 7.0.0` before its first page names the core's version. */
  label: string;
}

/** The engine for `config`, with the tessdata folders to search (the command's own folder among them). */
export async function chooseEngine(config: Pick<AppConfig, 'tools'>): Promise<OcrEngineChoice> {
  const probe = await probeNativeTesseract(config.tools.tesseract);
  const folders = tessdataFolders(probe.found?.tessdataDir);
  return probe.found
    ? { native: probe.found, folders, label: `tesseract ${probe.found.version}` }
    : { reason: probe.reason, folders, label: engineLabel(undefined) };
}

