import type { Command } from 'commander';
import { fetchModelByRef, listModels } from '../../models/index.js';
import { configFrom, withConfigOptions } from '../options.js';
import { progressLine } from '../progress-line.js';

/** `mediaflow models list|fetch`: the models Mediaflow knows, where each is, and the model folder. */
export function registerModels(program: Command) {
  const models = program.command('models').description('list known models; fetch one into the model cache with a SHA-256 check');
  withConfigOptions(models.command('list'))
    .option('--json', 'JSON output')
    .action(async (opts) => {
      const { catalogue, configured } = await listModels(configFrom(opts));
      if (opts.json) return console.log(JSON.stringify({ catalogue, configured }, null, 2));
      console.log('catalogue (✓ present; `mediaflow models fetch <id>` fetches a missing one):');
      for (const m of catalogue) console.log(`  ${m.present ? '✓' : ' '} ${m.id.padEnd(24)} ${m.path}`);
      console.log('configured (segment.models):');
      if (configured.length === 0) console.log('  (none)');
      for (const m of configured) console.log(`  ${m.present ? '✓' : '✗'} ${m.name.padEnd(24)} ${m.format.padEnd(14)} ${m.path}`);
    });
  withConfigOptions(models.command('fetch'))
    .argument('<id-or-url>', 'a catalogue id, or an http(s) URL of an .onnx file')
    .option('--sha256 <hex>', 'expected SHA-256 (required with a URL)')
    .option('--file <name>', 'file name in the cache (default: the URL\'s last segment)')
    .action(async (ref: string, opts) => {
      const config = configFrom(opts);
      const bar = progressLine(process.stderr);
      const got = await fetchModelByRef(ref, config, {
        sha256: opts.sha256,
        file: opts.file,
        onProgress: (received, total) => bar.update(total ? received / total : 0, `${Math.round(received / 1048576)} MiB`),
      });
      bar.done();
      console.log(`${got.downloaded ? 'fetched' : 'already cached'}: ${got.path} (${got.size} bytes, sha256 ${got.sha256})`);
    });
}
