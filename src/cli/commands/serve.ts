import type { Command } from 'commander';
import { buildServer, listenCompatPorts } from '../../http/server.js';
import { WebhookSender } from '../../http/webhook-sender.js';
import { BlobSweeper } from '../../core/blob-sweeper.js';
import { QueueReconciler } from '../../core/queue-reconciler.js';
import { openRuntime } from '../../runtime.js';
import { WorkerSupervisor } from '../../worker/supervisor.js';
import { cliLogger, configFrom, withConfigOptions } from '../options.js';

const SWEEP_EVERY_MS = 10 * 60_000;
/** A stop never waits longer than this for open requests (a client waiting on a long job, a stalled upload). */
const SHUTDOWN_MS = 10_000;

export function registerServe(program: Command) {
  withConfigOptions(program.command('serve'))
    .description('run the HTTP API and web UI, with worker processes (embedded mode)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('-p, --port <port>', 'port (default 8000)')
    .option('--no-workers', 'API only: run `mediaflow worker` processes separately')
    .option('--workers <n>', 'worker processes to start (default 1)')
    .option('--compat-ports', "also listen on the seed services' ports 5000, 8000 and 11470")
    .option('--api-key <key...>', 'require this API key on /v1, the compat routes and /tasks (repeatable)')
    .option('--allow-private', 'allow URL inputs and webhooks on private/loopback addresses (network.allowPrivate)')
    .action(async (opts) => {
      const extra: Record<string, unknown> = {};
      if (opts.host !== undefined) extra.host = opts.host;
      if (opts.port !== undefined) extra.port = opts.port;
      if (opts.compatPorts) extra.compatPorts = true;
      if (opts.apiKey) extra.apiKeys = opts.apiKey;
      if (opts.allowPrivate) extra.network = { allowPrivate: true };
      const workers: Record<string, unknown> = {};
      if (opts.workers === false) workers.enabled = false;
      if (typeof opts.workers === 'string') workers.processes = opts.workers;
      if (Object.keys(workers).length) extra.workers = workers;
      const config = configFrom(opts, extra);
      const log = cliLogger(config.logLevel);

      let supervisor: WorkerSupervisor | null = null;
      const rt = await openRuntime(config, { onQueued: () => supervisor?.wake() });
      // A cancel reaches this machine's worker processes over IPC at once (other nodes hear it through the queue).
      const stopCancel = rt.queue.onCancel((jobId) => supervisor?.cancel(jobId));
      const app = await buildServer(rt);
      const webhooks = new WebhookSender({ outbox: rt.webhooks, store: rt.store, events: rt.events, config, log }).start();
      await app.listen({ host: config.host, port: config.port });
      const address = app.server.address();
      const port = typeof address === 'object' && address ? address.port : config.port;
      const compat = config.compatPorts ? await listenCompatPorts(app, config.host, port) : [];
      if (config.workers.enabled) {
        supervisor = new WorkerSupervisor({ config, queue: rt.queue, entry: process.argv[1]!, log }).start();
      }
      const reconciler = new QueueReconciler({ store: rt.store, queue: rt.queue, log, onRequeued: () => supervisor?.wake() })
        .start(Math.min(30_000, Math.max(1000, Math.floor(config.workers.leaseMs / 3))));
      // Redis came back (perhaps empty): rebuild the queue from the records at once.
      const stopReconnect = rt.onQueueReconnect?.(() => void reconciler.reconcile().catch(() => undefined));
      const blobSweeper = new BlobSweeper({ store: rt.store, blobs: rt.blobs, scratch: rt.scratch, graceMs: config.blobs.graceMs, log }).start(config.blobs.sweepMs);
      const sweep = async () => {
        try {
          const n = await rt.jobs.sweepRetention();
          if (n) log('info', 'retention: removed ended jobs', { removed: n });
        } catch (err) {
          log('warn', 'retention sweep failed', { err: String(err) });
        }
      };
      void sweep();
      const sweeper = setInterval(() => void sweep(), SWEEP_EVERY_MS);
      sweeper.unref();
      // One line a script (or a test) can wait for.
      console.log(`Mediaflow listening on http://${config.host}:${port} (data ${config.data}, ${config.workers.enabled ? `${config.workers.processes} worker process(es)` : 'no workers'})`);

      let closing = false;
      const shutdown = async () => {
        if (closing) return;
        closing = true;
        // Requests still open near the deadline are cut; past it the process exits whatever is left.
        setTimeout(() => { app.server.closeAllConnections(); for (const s of compat) s.closeAllConnections(); }, SHUTDOWN_MS - 3_000).unref();
        setTimeout(() => {
          log('warn', 'shutdown took too long: exiting');
          process.exit(0);
        }, SHUTDOWN_MS).unref();
        clearInterval(sweeper);
        stopCancel();
        stopReconnect?.();
        await reconciler.stop();
        await blobSweeper.stop();
        await webhooks.stop();
        for (const s of compat) s.close();
        await app.close();
        await supervisor?.stop();
        await rt.close();
        process.exit(0);
      };
      process.on('SIGINT', () => void shutdown());
      process.on('SIGTERM', () => void shutdown());
    });
}
