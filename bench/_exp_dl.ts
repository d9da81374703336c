import { execFile, spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';
import { defaultConfig } from '../src/config/load-config.js';
import { downloadToFile } from '../src/net/index.js';
const run = promisify(execFile);
const SERVER = `
const http = require('node:http');
const chunk = require('node:crypto').randomBytes(1 << 20);
http.createServer((req, res) => {
  const size = Number(new URL(req.url, 'http://x').searchParams.get('size'));
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size });
  let left = size;
  const pump = () => {
    while (left > 0) {
      const n = Math.min(left, chunk.length);
      left -= n;
      if (!res.write(n === chunk.length ? chunk : chunk.subarray(0, n))) { res.once('drain', pump); return; }
    }
    res.end();
  };
  pump();
}).listen(0, '127.0.0.1', function () { console.log(this.address().port); });
`;
const child = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<string>((r) => child.stdout!.once('data', (d: Buffer) => r(d.toString().trim())));
const size = 1 << 30;
const url = `http://127.0.0.1:${port}/b?size=${size}`;
const config = defaultConfig({ network: { allowPrivate: true }, limits: { maxDownloadMb: 4096 } });
const dest = '/tmp/perfexp/body.bin';
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  await run('curl', ['-s', '-o', dest, url]);
  const c = performance.now() - t; await rm(dest);
  t = performance.now();
  await downloadToFile(url, dest, { config, hash: false });
  const m = performance.now() - t; await rm(dest);
  t = performance.now();
  await downloadToFile(url, dest, { config });
  const h = performance.now() - t; await rm(dest);
  console.log(`curl ${(1024 / (c / 1000)).toFixed(0)} MiB/s  mf-nohash ${(1024 / (m / 1000)).toFixed(0)} (${(c / m).toFixed(2)}x)  mf-hash ${(1024 / (h / 1000)).toFixed(0)} (${(c / h).toFixed(2)}x)  load ${(await import('node:os')).loadavg()[0].toFixed(1)}`);
}
child.kill();
