import { Type, type Static } from 'typebox';

/** The seed services whose routes the compat layer keeps (src/http/compat). */
export type CompatSeed = 'seed000' | 'seed001' | 'seed002' | 'seed003' | 'seed004';

/**
 * The whole configuration, one schema. Sources, later ones winning:
 * defaults ← config file (`--config`, `MEDIAFLOW_CONFIG`, or `<data>/mediaflow.json`) ← `MEDIAFLOW_*`
 * environment ← CLI flags. Validated with every error listed at once, then deep-frozen.
 * The README's configuration table is this schema.
 */
export const ConfigSchema = Type.Object({
  host: Type.String({ default: '127.0.0.1', description: 'Address the HTTP server listens on.' }),
  port: Type.Integer({ default: 8000, minimum: 0, maximum: 65535, description: 'HTTP port.' }),
  data: Type.String({ default: './data', description: 'Data folder: database, blobs, models, temporary files.' }),
  compatPorts: Type.Boolean({ default: false, description: "Also listen on the seed systems' own ports 5000, 8000 and 11470." }),
  apiKeys: Type.Array(Type.String({ minLength: 8 }), { default: [], description: 'API keys; when set, every route that runs or shows a job (/v1, the compat routes, /tasks) needs `Authorization: Bearer <key>` or `X-Api-Key`.' }),
  auth: Type.Object({
    openCompat: Type.Array(Type.Union([Type.Literal('seed000'), Type.Literal('seed001'), Type.Literal('seed002'), Type.Literal('seed003'), Type.Literal('seed004')]), {
      default: [],
      description: 'Compat routes of these seeds answer without a key even when apiKeys is set (old clients that cannot send headers); '
        + '`/tasks/<id>` then shows such clients only the jobs of these seeds.',
    }),
  }, { default: {} }),
  metrics: Type.Object({
    public: Type.Boolean({ default: false, description: '/metrics answers without a key when apiKeys is set.' }),
  }, { default: {} }),
  uploadLimitMb: Type.Number({ default: 1024, exclusiveMinimum: 0, description: 'Largest accepted upload or fetched input, in MiB.' }),
  retentionDays: Type.Number({ default: 7, minimum: 0, description: 'Ended jobs and their files are removed after this many days (0 keeps them forever).' }),
  logLevel: Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('silent')], { default: 'info' }),
  workers: Type.Object({
    enabled: Type.Boolean({ default: true, description: '`serve` starts worker processes (false: API only, run `mediaflow worker` elsewhere).' }),
    processes: Type.Integer({ default: 1, minimum: 1, maximum: 64, description: 'Worker processes started by `serve`.' }),
    leaseMs: Type.Integer({ default: 30000, minimum: 1000, description: 'A job lease; a worker that misses heartbeats this long loses the job.' }),
    heartbeatMs: Type.Integer({ default: 5000, minimum: 100, description: 'How often a worker renews its leases.' }),
    pollMs: Type.Integer({ default: 500, minimum: 5, description: 'Idle polling interval of a worker (woken at once by local submits).' }),
    nice: Type.Integer({ default: 10, minimum: 0, maximum: 19, description: 'Added to the OS priority (nice) of the worker processes `serve` starts, so that models running there leave the API its share of the CPU (0: same priority as the API).' }),
  }, { default: {} }),
  concurrency: Type.Record(Type.String(), Type.Integer({ minimum: 1, maximum: 1024 }), { default: {}, description: 'Per-processor concurrency overrides, e.g. {"ocr": 2}.' }),
  network: Type.Object({
    allowPrivate: Type.Boolean({ default: false, description: 'Allow URLs that resolve to loopback, private, link-local or metadata addresses.' }),
    connectTimeoutMs: Type.Integer({ default: 15000, minimum: 100 }),
    idleTimeoutMs: Type.Integer({ default: 30000, minimum: 100 }),
    maxRedirects: Type.Integer({ default: 5, minimum: 0, maximum: 20 }),
  }, { default: {} }),
  limits: Type.Object({
    maxImagePixels: Type.Integer({ default: 100_000_000, minimum: 1, description: 'Images with more pixels are refused before decoding.' }),
    maxOutputPixels: Type.Integer({ default: 268_435_456, minimum: 1, description: 'Largest image a processor may produce (upscale: input pixels × scale²), refused before work starts. Default 16384².' }),
    maxAudioSeconds: Type.Number({ default: 1800, exclusiveMinimum: 0, description: 'Longest audio accepted by audio processors.' }),
    maxDownloadMb: Type.Number({ default: 4096, exclusiveMinimum: 0, description: 'Largest file the download processors store.' }),
  }, { default: {} }),
  tools: Type.Object({
    ffmpeg: Type.String({ default: 'ffmpeg' }),
    ffprobe: Type.String({ default: 'ffprobe' }),
    ytDlp: Type.String({ default: 'yt-dlp' }),
    tesseract: Type.String({ default: 'tesseract', description: 'The Tesseract command OCR runs when installed (4.0 or later); empty: always tesseract.js.' }),
    ytDlpCookies: Type.Optional(Type.String({ description: 'A cookies.txt for sites that require sign-in.' })),
  }, { default: {} }),
  models: Type.Object({
    dir: Type.Optional(Type.String({ description: 'Model cache folder (default <data>/models).' })),
    paths: Type.Record(Type.String(), Type.String(), { default: {}, description: 'Model id → file path overrides.' }),
  }, { default: {} }),
  segment: Type.Object({
    models: Type.Record(Type.String(), Type.Object({
      path: Type.String({ description: 'The ONNX file, or the id of a catalogue model fetched into the model cache (`mediaflow models list`).' }),
      format: Type.Union([Type.Literal('mask-rcnn'), Type.Literal('mask-rcnn-zoo'), Type.Literal('yolo-seg')], {
        description: '`mask-rcnn`: torchvision export (RGB 0..1 in, boxes/labels/scores/masks out); `mask-rcnn-zoo`: ONNX model zoo MaskRCNN (BGR minus mean in, 28×28 masks out); `yolo-seg`: Ultralytics YOLO segmentation export (output0 + output1 prototypes).',
      }),
      classes: Type.Optional(Type.String({ description: 'Class names: a text file with one name per line, or a JSON array. Default: COCO, numbered as the format expects.' })),
    }, { additionalProperties: false }), { default: {}, description: 'Instance segmentation models by name; a segment or orientation job uses one with `engine: "<name>"` (the built-in engine needs none).' }),
  }, { default: {} }),
  threads: Type.Integer({ default: 0, minimum: 0, description: 'Threads for one ML job (0: all cores).' }),
  webhooks: Type.Object({
    secret: Type.Optional(Type.String({ description: 'HMAC-SHA256 key for the X-Mediaflow-Signature header.' })),
    attempts: Type.Integer({ default: 5, minimum: 1 }),
  }, { default: {} }),
  mode: Type.Union([Type.Literal('embedded'), Type.Literal('distributed')], {
    default: 'embedded',
    description: '`embedded`: one SQLite file and local files (zero set-up). `distributed`: PostgreSQL, BullMQ on Redis and S3, API and worker nodes on separate machines.',
  }),
  redis: Type.Object({
    url: Type.Optional(Type.String({ description: 'Distributed mode: the Redis holding the BullMQ queues, e.g. redis://127.0.0.1:6379.' })),
    prefix: Type.String({ default: 'mediaflow', description: 'Key prefix of the BullMQ queues (several installations can share one Redis).' }),
  }, { default: {} }),
  postgres: Type.Object({
    url: Type.Optional(Type.String({ description: 'Distributed mode: job records and events, e.g. postgres://user@127.0.0.1:5432/mediaflow.' })),
    poolSize: Type.Integer({ default: 10, minimum: 1, maximum: 200, description: 'Connections per process.' }),
  }, { default: {} }),
  s3: Type.Object({
    endpoint: Type.Optional(Type.String({ description: 'Distributed mode: the S3-compatible endpoint, e.g. http://127.0.0.1:8080.' })),
    region: Type.String({ default: 'us-east-1' }),
    bucket: Type.Optional(Type.String({ description: 'Bucket holding the blobs (created by `mediaflow migrate` when missing).' })),
    prefix: Type.String({ default: '', description: 'Key prefix inside the bucket.' }),
    accessKeyId: Type.Optional(Type.String()),
    secretAccessKey: Type.Optional(Type.String()),
    forcePathStyle: Type.Boolean({ default: true, description: 'Path-style URLs (MinIO, Swift, Ceph).' }),
    presignDownloads: Type.Boolean({ default: false, description: 'Answer output downloads with a redirect to a presigned URL instead of streaming through the API.' }),
  }, { default: {} }),
  blobs: Type.Object({
    graceMs: Type.Integer({ default: 3_600_000, minimum: 0, description: 'An unreferenced blob is removed only after it was neither written nor touched for this long (a submit of the same content touches it).' }),
    sweepMs: Type.Integer({ default: 600_000, minimum: 1000, description: 'How often unreferenced blobs and leftover temporary files are swept.' }),
  }, { default: {} }),
  enableTestProcessors: Type.Boolean({ default: false, description: 'Register the no-op/crash processors used by tests and benchmarks.' }),
});

export type AppConfig = Static<typeof ConfigSchema>;
