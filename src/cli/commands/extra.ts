import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { withConfigOptions } from '../options.js';
import { runLocal } from './run.js';

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a whole number of seconds > 0');
  return n;
}

/** Shortcuts for the download processors, with seed 004's command-line shape. */
export function registerExtraCommands(program: Command) {
  withConfigOptions(program.command('record-stream'))
    .description('record a live HLS stream into fragments (seed 004\'s download_stream_worker)')
    .argument('<playlist_url>', 'the HLS playlist (.m3u8) of the live stream')
    .option('-r, --recording-duration <seconds>', 'seconds to record in total', positiveInt, 60)
    .option('-f, --max-fragment-duration <seconds>', 'longest fragment, in seconds', positiveInt, 10)
    .option('--format <mp4|ts>', 'fragment container', 'mp4')
    .option('-o, --out <dir>', 'folder for the fragments', 'recordings')
    .option('--allow-private', 'allow a stream on a private/loopback address (e.g. a camera on the LAN)')
    .option('--json', 'print the result as JSON only')
    .action(async (url: string, opts) => void await runLocal('record-stream', url, {
      recording_duration: opts.recordingDuration, max_fragment_duration: opts.maxFragmentDuration, format: opts.format,
    }, { ...opts, extra: opts.allowPrivate ? { network: { allowPrivate: true } } : {} }));

  withConfigOptions(program.command('download'))
    .description('download the file at a URL (streamed, resumed, type-checked)')
    .argument('<url>')
    .option('-o, --out <dir>', 'output folder', 'downloads')
    .option('--video', 'a video page (YouTube and the other sites yt-dlp supports) instead of a file')
    .option('--allow-private', 'allow a private/loopback address')
    .option('--json', 'print the result as JSON only')
    .action(async (url: string, opts) => void await runLocal(opts.video ? 'download-video' : 'download', url, {}, {
      ...opts, extra: opts.allowPrivate ? { network: { allowPrivate: true } } : {},
    }));
}
