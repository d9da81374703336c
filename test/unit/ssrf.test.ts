import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { execFile } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { defaultConfig } from '../../src/config/load-config.js';
import { assertUrlAllowed, downloadToFile, forbiddenRange, startGuardProxy, type AddressPolicy } from '../../src/net/index.js';
import { patternBytes, sha256, startTestServer, type TestServer } from '../helpers/http-server.js';
import { rejectsWith } from '../helpers/assertions.js';

const strict = defaultConfig(); // allowPrivate: false, the default
const loopbackOnly: AddressPolicy = (a) => (a === '127.0.0.1' ? null : forbiddenRange(a));

let server: TestServer;
let dir: string;
before(async () => {
  server = await startTestServer();
  dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-ssrf-'));
});
after(async () => {
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

test('address ranges: private, loopback, link-local, CGNAT, unique-local, metadata and embedded forms are refused', () => {
  const refused = [
    '127.0.0.1', '127.8.9.10', '10.1.2.3', '172.16.0.1', '172.31.255.255', '192.168.1.1', '169.254.169.254', '100.100.100.200',
    '100.64.0.1', '0.0.0.0', '224.0.0.1', '255.255.255.255', '192.0.0.192', '::1', '::', 'fe80::1', 'fd00:ec2::254', 'fc00::1',
    '::ffff:127.0.0.1', '::ffff:169.254.169.254', '64:ff9b::7f00:1', '2002:a00:1::', '::7f00:1', 'ff02::1', '2001:db8::1',
  ];
  for (const a of refused) assert.notEqual(forbiddenRange(a), null, `${a} should be refused`);
  for (const a of ['8.8.8.8', '93.184.215.14', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8', '64:ff9b::808:808']) {
    assert.equal(forbiddenRange(a), null, `${a} should be allowed`);
  }
});

test('refused by default: loopback, metadata, IPv6 loopback, file:, other schemes, names resolving to private addresses', async () => {
  await rejectsWith(assertUrlAllowed('http://127.0.0.1/', strict), 'URL_FORBIDDEN');
  await rejectsWith(assertUrlAllowed('http://169.254.169.254/latest/meta-data/', strict), 'URL_FORBIDDEN');
  await rejectsWith(assertUrlAllowed('http://[::1]/', strict), 'URL_FORBIDDEN');
  await rejectsWith(assertUrlAllowed('http://[::ffff:127.0.0.1]:8080/', strict), 'URL_FORBIDDEN');
  await rejectsWith(assertUrlAllowed('http://0x7f000001/', strict), 'URL_FORBIDDEN'); // the URL parser normalises it to 127.0.0.1
  await rejectsWith(assertUrlAllowed('http://localhost/', strict), 'URL_FORBIDDEN');
  await rejectsWith(assertUrlAllowed('file:///etc/passwd', strict), 'URL_INVALID');
  await rejectsWith(assertUrlAllowed('ftp://example.com/x', strict), 'URL_INVALID');
  await rejectsWith(assertUrlAllowed('not a url', strict), 'URL_INVALID');

  const calls: string[] = [];
  const resolve = async (host: string): Promise<LookupAddress[]> => {
    calls.push(host);
    if (host === 'intranet.example') return [{ address: '10.0.0.7', family: 4 }];
    if (host === 'mixed.example') return [{ address: '93.184.215.14', family: 4 }, { address: '192.168.0.10', family: 4 }];
    return [{ address: '93.184.215.14', family: 4 }];
  };
  const e = await rejectsWith(assertUrlAllowed('https://intranet.example/a', strict, { resolve }), 'URL_FORBIDDEN');
  assert.equal(e.details?.address, '10.0.0.7');
  // One private answer among public ones is enough to refuse: the socket might pick it.
  await rejectsWith(assertUrlAllowed('https://mixed.example/a', strict, { resolve }), 'URL_FORBIDDEN');
  const ok = await assertUrlAllowed('https://public.example/a?b=1', strict, { resolve });
  assert.equal(ok.href, 'https://public.example/a?b=1');
  assert.deepEqual(calls, ['intranet.example', 'mixed.example', 'public.example']);

  // Allowed when the configuration says so.
  const open = defaultConfig({ network: { allowPrivate: true } });
  assert.equal((await assertUrlAllowed('http://127.0.0.1:9/', open)).hostname, '127.0.0.1');
});

test('downloads refuse a forbidden address at once, and on a redirect to one', async () => {
  const body = patternBytes(1000, 3);
  server.route('/ok', { kind: 'file', body });
  server.route('/to-metadata', { kind: 'redirect', to: 'http://169.254.169.254/latest/meta-data/iam' });
  server.route('/to-private-name', { kind: 'redirect', to: 'http://intranet.example/secret' });
  const resolve = async (host: string): Promise<LookupAddress[]> => [{ address: host === 'intranet.example' ? '10.0.0.7' : '127.0.0.1', family: 4 }];

  await rejectsWith(downloadToFile(`${server.origin}/ok`, path.join(dir, 'a'), { config: strict }), 'URL_FORBIDDEN');
  const before = server.requests.length;
  await rejectsWith(downloadToFile(`${server.origin}/to-metadata`, path.join(dir, 'b'), { config: strict, policy: loopbackOnly }), 'URL_FORBIDDEN');
  await rejectsWith(downloadToFile(`${server.origin}/to-private-name`, path.join(dir, 'c'), { config: strict, policy: loopbackOnly, resolve }), 'URL_FORBIDDEN');
  assert.equal(server.requests.length - before, 2, 'only the redirecting URLs were requested');
});

test('the connection is pinned to the checked address (DNS rebinding)', async () => {
  const body = patternBytes(300_000, 4);
  server.route('/pinned', { kind: 'file', body });
  let lookups = 0;
  // First answer passes the check; any later lookup would "rebind" to a private address.
  const resolve = async (): Promise<LookupAddress[]> => [{ address: lookups++ === 0 ? '127.0.0.1' : '10.0.0.1', family: 4 }];
  const r = await downloadToFile(`http://rebind.test:${server.port}/pinned`, path.join(dir, 'pinned'), { config: strict, policy: loopbackOnly, resolve });
  assert.equal(lookups, 1, 'the host was resolved exactly once');
  assert.equal(r.sha256, sha256(body));
  assert.deepEqual(await readFile(path.join(dir, 'pinned')), body);
  // The server saw the real host name (virtual hosting and TLS SNI keep working).
  assert.equal(server.requests.at(-1)?.headers.host, `rebind.test:${server.port}`);
});

test('the guard proxy applies the policy to programs that fetch on their own', async () => {
  const body = patternBytes(5000, 5);
  server.route('/via-proxy', { kind: 'file', body });
  const resolve = async (host: string): Promise<LookupAddress[]> => [{ address: host === 'intranet.example' ? '10.0.0.7' : '127.0.0.1', family: 4 }];
  const proxy = await startGuardProxy({ config: strict, policy: loopbackOnly, resolve });
  const port = Number(new URL(proxy.url).port);
  const viaProxy = (target: string) => new Promise<{ status: number; body: Buffer }>((ok, fail) => {
    http.get({ host: '127.0.0.1', port, path: target, headers: { host: new URL(target).host } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c)).on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) })).on('error', fail);
    }).on('error', fail);
  });
  const connect = (authority: string) => new Promise<string>((ok, fail) => {
    const s = net.connect(port, '127.0.0.1', () => s.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`));
    s.once('data', (d) => { ok(d.toString('latin1').split('\r\n')[0]); s.destroy(); }).on('error', fail);
  });
  try {
    const good = await viaProxy(`http://allowed.test:${server.port}/via-proxy`);
    assert.equal(good.status, 200);
    assert.deepEqual(good.body, body);
    assert.equal((await viaProxy('http://169.254.169.254/latest/meta-data/')).status, 403);
    assert.equal((await viaProxy('http://intranet.example/')).status, 403);
    assert.match(await connect('10.0.0.7:443'), /^HTTP\/1\.1 403/);
    assert.match(await connect(`127.0.0.1:${server.port}`), /^HTTP\/1\.1 200/);
    assert.deepEqual(proxy.failures.map((f) => f.error.code), ['URL_FORBIDDEN', 'URL_FORBIDDEN', 'URL_FORBIDDEN']);
  } finally {
    await proxy.close();
  }
});

test('https through a pinned connection still negotiates TLS for the host name and checks its certificate', async () => {
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await promisify(execFile)('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=files.test', '-addext', 'subjectAltName=DNS:files.test']);
  let sni: string | undefined;
  const tls = https.createServer({
    key: await readFile(key),
    cert: await readFile(cert),
    SNICallback: (name, cb) => { sni = name; cb(null); }, // keep the default context, note the name asked for
  }, (_req, res) => res.end('secret'));
  await new Promise<void>((ok) => tls.listen(0, '127.0.0.1', ok));
  const port = (tls.address() as net.AddressInfo).port;
  try {
    const resolve = async (): Promise<LookupAddress[]> => [{ address: '127.0.0.1', family: 4 }];
    // The certificate is self-signed, so the download must fail on it, after a handshake that named files.test.
    const e = await rejectsWith(downloadToFile(`https://files.test:${port}/a.txt`, path.join(dir, 'tls'), { config: strict, policy: loopbackOnly, resolve }), 'URL_UNREACHABLE');
    assert.match(e.message, /TLS|certificate/i);
    assert.equal(e.retryable, false);
    assert.equal(sni, 'files.test');
  } finally {
    tls.close();
  }
});
