import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import Database from 'better-sqlite3';
import { writeHugePngHeader } from '../helpers/text-images.js';
import { json, startServer, tempDir, until, type InProcessServer } from '../helpers/server.js';

let s: InProcessServer;
let dir: string;
let imagePath: string;
const W = 320;
const H = 240;
const RECT = { w: 160, h: 50, angle: 30 };

/** A dark rectangle turned 30° counter-clockwise (as seen) on a light background. */
async function drawScene(file: string) {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}"><rect width="100%" height="100%" fill="#f0f0e8"/>
    <g transform="translate(${W / 2} ${H / 2}) rotate(${-RECT.angle})"><rect x="${-RECT.w / 2}" y="${-RECT.h / 2}" width="${RECT.w}" height="${RECT.h}" fill="#203060"/></g></svg>`;
  await sharp(Buffer.from(svg)).jpeg({ quality: 95 }).toFile(file);
}

before(async () => {
  s = await startServer();
  dir = tempDir();
  imagePath = path.join(dir, 'image.jpg');
  await drawScene(imagePath);
});
after(async () => { await s.close(); rmSync(dir, { recursive: true, force: true }); });

/** The seed's client code as its document gives it, plus an independent COCO RLE decoder. */
// Asynchronous: the server answering the client runs in this very process.
async function python(script: string): Promise<any> {
  const file = path.join(dir, `client-${Date.now()}.py`);
  writeFileSync(file, script);
  const { stdout } = await promisify(execFile)('python3', [file], { encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(stdout.trim().split('\n').pop()!);
}

const DECODER = `
import base64, json
def rle_fr_string(s):
    # pycocotools' rleFrString, written out: 5-bit groups, continuation bit 0x20, sign bit 0x10, deltas after the 3rd count
    cnts, p, m = [], 0, 0
    while p < len(s):
        x, k, more = 0, 0, 1
        while more:
            c = ord(s[p]) - 48
            x |= (c & 0x1f) << (5 * k)
            more = c & 0x20
            p += 1; k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if m > 2:
            x += cnts[m - 2]
        cnts.append(x); m += 1
    return cnts
def decode(mask_rle):
    h, w = mask_rle["size"]
    cnts = rle_fr_string(base64.b64decode(mask_rle["counts"]).decode("ascii"))
    flat, v = [], 0
    for c in cnts:
        flat.extend([v] * c); v = 1 - v
    assert len(flat) == h * w, (len(flat), h * w)
    # column-major (Fortran order): pixel (y, x) is flat[x * h + y]
    xs = [i // h for i, b in enumerate(flat) if b]
    ys = [i % h for i, b in enumerate(flat) if b]
    return {"area": len(xs), "bbox": [min(xs), min(ys), max(xs) - min(xs) + 1, max(ys) - min(ys) + 1]}
`;

test('the seed\'s Python client: multipart and base64 to /predict; masks decode as pycocotools would', async () => {
  const out = await python(`
import requests
${DECODER}
url = "${s.url}/predict"
files = {"file": open("${imagePath}", "rb")}
response = requests.post(url, files=files)
a = response.json()

with open("${imagePath}", "rb") as image_file:
    encoded_string = base64.b64encode(image_file.read()).decode('utf-8')
payload = {"image": encoded_string}
headers = {"Content-Type": "application/json"}
response = requests.post(url, json=payload, headers=headers)
b = response.json()
print(json.dumps({"a": a["status"], "count": a["count"], "b": b["status"], "bcount": b["count"], "mask_id": a["masks"][0]["mask_id"], "size": a["masks"][0]["mask_rle"]["size"], "decoded": decode(a["masks"][0]["mask_rle"]), "same": a["masks"][0]["mask_rle"] == b["masks"][0]["mask_rle"]}))
`);
  assert.equal(out.a, 'success');
  assert.equal(out.b, 'success');
  assert.equal(out.count, 1);
  assert.equal(out.bcount, 1);
  assert.equal(out.mask_id, 0);
  assert.deepEqual(out.size, [H, W]);
  assert.ok(out.same, 'the two submit forms give the same mask');
  const area = RECT.w * RECT.h;
  assert.ok(Math.abs(out.decoded.area - area) / area < 0.05, `area ${out.decoded.area} vs ${area}`);
  // The rotated rectangle's bounding box: w·cos + h·sin by w·sin + h·cos.
  const rad = (RECT.angle * Math.PI) / 180;
  const bw = RECT.w * Math.cos(rad) + RECT.h * Math.sin(rad);
  const bh = RECT.w * Math.sin(rad) + RECT.h * Math.cos(rad);
  assert.ok(Math.abs(out.decoded.bbox[2] - bw) <= 3 && Math.abs(out.decoded.bbox[3] - bh) <= 3, JSON.stringify(out.decoded.bbox));
});

test('the seed\'s main server: /upload then /status/<filename> until completed, with the degree; the image_results table follows', async () => {
  const out = await python(`
import requests, base64, json, time
with open("${imagePath}", "rb") as f:
    encoded = base64.b64encode(f.read()).decode("utf-8")
r = requests.post("${s.url}/upload", json={"image": encoded})
up = r.json()
r2 = requests.post("${s.url}/upload", json={"image": encoded})
up2 = r2.json()
status = None
for _ in range(300):
    status = requests.get("${s.url}/status/" + up["filename"]).json()
    if status["status"] != "processing":
        break
    time.sleep(0.1)
print(json.dumps({"code": r.status_code, "up": up, "up2": up2, "status": status}))
`);
  assert.equal(out.code, 200);
  assert.equal(out.up.message, 'success upload image');
  assert.match(out.up.filename, /^image_\d{8}_\d{6}(_\d+)?\.jpg$/);
  assert.notEqual(out.up.filename, out.up2.filename, 'two uploads in one second get different names');
  assert.equal(out.status.status, 'completed');
  assert.equal(out.status.filename, out.up.filename);
  assert.ok(Math.abs(out.status.degree - RECT.angle) <= 1, `degree ${out.status.degree}`);
  const db = new Database(path.join(s.config.data, 'mediaflow.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT filename, status, degree FROM image_results WHERE filename = ?').get(out.up.filename) as { status: string; degree: number };
    assert.equal(row.status, 'completed');
    assert.ok(Math.abs(row.degree - RECT.angle) <= 1);
  } finally {
    db.close();
  }
});

test('seed 003 errors keep its shapes and codes', async () => {
  const post = (p: string, body: unknown) => fetch(`${s.url}${p}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  for (const [p, body] of [['/predict', { image: '***not base64***' }], ['/upload', { image: '***' }], ['/predict', { image: Buffer.from('hello, just text').toString('base64') }], ['/upload', {}], ['/predict', {}]] as const) {
    const res = await post(p, body);
    assert.equal(res.status, 400, `${p} ${JSON.stringify(body)}`);
    assert.equal(typeof (await json(res)).error, 'string');
  }
  const huge = readFileSync(await writeHugePngHeader(path.join(dir, 'huge.png'), 20000, 20000));
  const big = await post('/predict', { image: huge.toString('base64') });
  assert.equal(big.status, 400);
  assert.match((await json(big)).error, /pixels/);
  const unknown = await fetch(`${s.url}/status/image_20000101_000000.jpg`);
  assert.equal(unknown.status, 404);
  assert.deepEqual(await json(unknown), { error: 'no processing record for this file' });
  assert.deepEqual(await json(await fetch(`${s.url}/health`)), { status: 'ok' });
  void until;
});
