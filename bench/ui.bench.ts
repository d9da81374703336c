/**
 * Web UI weight and speed: the first load's transferred bytes (by kind) and the time until the page
 * is interactive, in real headless Chromium over loopback, against a real server holding 60 jobs.
 * "Interactive" is the app's own `mediaflow:interactive` mark: processors loaded, submit form built,
 * job list rendered, live stream opened, handlers attached. Cold = a fresh browser context (empty
 * cache); warm = a reload in the same context (revalidated with ETags).
 *
 *   npx tsx bench/ui.bench.ts [--runs 10] [--no-write]
 *
 * Prints figures and writes them into bench/RESULTS.md under "## ui".
 */
import { writeResultsSection } from './results-file.js';
import { readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from '../test/helpers/browser.js';
import { startServer, submit, until, json } from '../test/helpers/server.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 10;
const WRITE = !args.includes('--no-write');

interface Load {
  interactiveMs: number;
  domContentLoadedMs: number;
  bytes: Record<string, number>;
  requests: number;
}

/** One page load; transferred bytes from the DevTools protocol (encoded sizes, headers included). */
async function measure(page: Page, url: string, reload: boolean): Promise<Load> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const kinds = new Map<string, string>();
  const bytes: Record<string, number> = {};
  let requests = 0;
  cdp.on('Network.responseReceived', (e: any) => {
    const mime = String(e.response.mimeType);
    const kind = mime.includes('javascript') ? 'js' : mime.includes('css') ? 'css' : mime.includes('html') ? 'html' : mime.includes('json') ? 'api' : 'other';
    kinds.set(e.requestId, kind);
  });
  // An event stream never finishes loading: it is not part of the page's weight.
  cdp.on('Network.loadingFinished', (e: any) => {
    const kind = kinds.get(e.requestId) ?? 'other';
    bytes[kind] = (bytes[kind] ?? 0) + e.encodedDataLength;
    requests++;
  });
  if (reload) await page.reload();
  else await page.goto(url);
  await page.waitForSelector('html[data-ready="true"]');
  await page.waitForLoadState('load');
  const t = await page.evaluate(() => {
    const perf = (globalThis as any).performance;
    const nav = perf.getEntriesByType('navigation')[0];
    const mark = perf.getEntriesByName('mediaflow:interactive')[0];
    return { interactive: mark.startTime - nav.startTime, dcl: nav.domContentLoadedEventEnd - nav.startTime };
  });
  await cdp.detach();
  return { interactiveMs: t.interactive, domContentLoadedMs: t.dcl, bytes, requests };
}

const median = (v: number[]) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const kb = (n: number) => `${(n / 1000).toFixed(1)} kB`;

function dirBytes(dir: string): number {
  return readdirSync(dir).reduce((sum, f) => {
    const p = path.join(dir, f);
    const st = statSync(p);
    return sum + (st.isDirectory() ? dirBytes(p) : f.endsWith('.js') ? st.size : 0);
  }, 0);
}

async function main() {
  const s = await startServer({ network: { allowPrivate: true } });
  let browser: Browser | null = null;
  const lines: string[] = [];
  const say = (l: string) => { console.log(l); lines.push(l); };
  try {
    // A realistic list: 60 finished jobs, some with outputs.
    const ids: string[] = [];
    for (let i = 0; i < 60; i++) {
      const r = await submit(s.url, { processor: i % 3 ? 'noop' : 'sleep', params: i % 3 ? { value: `job ${i}` } : { ms: 10, output: true }, input: { url: `http://127.0.0.1/item/${i}` } });
      ids.push((await json(r)).id);
    }
    await until(async () => (await json(await fetch(`${s.url}/v1/jobs?status=queued,running&limit=1`))).items.length === 0, 30_000);

    browser = await launchBrowser();
    const cold: Load[] = [];
    const warm: Load[] = [];
    // One untimed load first: Chromium's own first-start work is not the page's.
    { const ctx = await browser.newContext(); const p = await ctx.newPage(); await measure(p, s.url, false); await ctx.close(); }
    for (let i = 0; i < RUNS; i++) {
      const ctx = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
      const page = await ctx.newPage();
      cold.push(await measure(page, s.url, false));
      warm.push(await measure(page, s.url, true));
      await ctx.close();
    }
    const total = (l: Load) => Object.values(l.bytes).reduce((a, b) => a + b, 0);
    const c = cold[0]!;
    const viewsBytes = dirBytes(path.join(HERE, '..', 'web', 'js', 'views'));
    const load = os.loadavg()[0]!.toFixed(1);
    say(`Machine: ${os.cpus().length} × ${os.cpus()[0]?.model.trim() ?? 'CPU'}, Node ${process.version}, Chromium (headless, loopback; server, browser and bench on the same machine, load average ${load} during the run). Run: \`npx tsx bench/ui.bench.ts\` (${new Date().toISOString().slice(0, 10)}), ${RUNS} runs, medians; 60 jobs in the list.`);
    say('');
    say(`- first load (cold cache): ${kb(total(c))} transferred in ${c.requests} requests — JavaScript ${kb(c.bytes.js ?? 0)}, CSS ${kb(c.bytes.css ?? 0)}, HTML ${kb(c.bytes.html ?? 0)}, API JSON ${kb(c.bytes.api ?? 0)}; no build step, no framework, files served as written`);
    say(`- time to interactive, cold: ${median(cold.map((l) => l.interactiveMs)).toFixed(0)} ms (DOMContentLoaded ${median(cold.map((l) => l.domContentLoadedMs)).toFixed(0)} ms); warm reload: ${median(warm.map((l) => l.interactiveMs)).toFixed(0)} ms, ${kb(median(warm.map(total)))} transferred`);
    say(`- result views, loaded only when a job is opened: ${kb(viewsBytes)} of JavaScript in all (one view is 4–10 kB)`);
    say('');
    say('Goals: under 200 kB of JavaScript, interactive in under 1 s.');
  } finally {
    await browser?.close();
    await s.close();
  }
  if (WRITE) writeSection('ui', lines);
}

function writeSection(name: string, body: string[]) {
  writeResultsSection(name, `## ${name}\n\n${body.join('\n')}\n`);
}

await main();
