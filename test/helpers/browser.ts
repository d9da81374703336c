import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { ROOT } from './server.js';

/**
 * Real headless Chromium (Debian's) for the web UI's tests and benchmark, driven by playwright-core.
 * The flags keep it from reaching the network on its own (updates, sync, QUIC probes).
 */
export const CHROMIUM = process.env.MEDIAFLOW_CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
export const SCREENSHOTS = path.join(ROOT, 'test-output', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

export interface UiPage {
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught page errors seen so far (a test asserts there are none). */
  errors: string[];
}

/**
 * A fresh context (own storage) and page, opened at `url` and waited for until the app says it is
 * interactive (`html[data-ready]`), unless JavaScript is off.
 */
export async function openUi(browser: Browser, url: string, opts: { javaScriptEnabled?: boolean; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}): Promise<UiPage> {
  const context = await browser.newContext({
    javaScriptEnabled: opts.javaScriptEnabled ?? true,
    viewport: opts.viewport ?? { width: 1400, height: 1000 },
    colorScheme: opts.colorScheme ?? 'light',
  });
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('console', (m: ConsoleMessage) => { if (m.type() === 'error') errors.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => errors.push(`page: ${e.message}`));
  page.on('dialog', (d) => void d.accept());
  await page.goto(url);
  if (opts.javaScriptEnabled !== false) await page.waitForSelector('html[data-ready="true"]', { timeout: 15_000 });
  return { context, page, errors };
}

/** Saves a full-page screenshot as test-output/screenshots/<name>.png. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/**
 * Drops files on an element the way a user's drag and drop does: a `DataTransfer` holding real
 * `File`s, dispatched as dragenter, dragover and drop.
 */
export async function dropFiles(page: Page, selector: string, files: Array<{ name: string; mime: string; bytes: Buffer }>): Promise<void> {
  const payload = files.map((f) => ({ name: f.name, mime: f.mime, b64: f.bytes.toString('base64') }));
  const dt = await page.evaluateHandle((list) => {
    const g = globalThis as any;
    const transfer = new g.DataTransfer();
    for (const f of list) {
      const bin = g.atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      transfer.items.add(new g.File([bytes], f.name, { type: f.mime }));
    }
    return transfer;
  }, payload);
  for (const type of ['dragenter', 'dragover', 'drop']) await page.dispatchEvent(selector, type, { dataTransfer: dt });
  await dt.dispose();
}
