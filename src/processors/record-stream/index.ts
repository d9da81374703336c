import { rm } from 'node:fs/promises';
import path from 'node:path';
import { Type } from 'typebox';
import { InputError } from '../../core/errors.js';
import { defineProcessor } from '../../core/processor.types.js';
import { checkTools } from '../../media/tools/index.js';

/** The longest recording a job may ask for; the processor's timeout follows from it. */
export const MAX_RECORDING_SECONDS = 6 * 3600;

export const RecordStreamParamsSchema = Type.Object({
  recording_duration: Type.Integer({ default: 60, minimum: 1, maximum: MAX_RECORDING_SECONDS, description: 'Seconds of the stream to record in total.' }),
  max_fragment_duration: Type.Integer({
    default: 10,
    minimum: 1,
    maximum: 3600,
    description: 'Longest fragment, in seconds. The stream is copied, not re-encoded, so a cut falls on the first keyframe at or after this length (HLS segments start with one).',
  }),
  format: Type.Union([Type.Literal('mp4'), Type.Literal('ts')], { default: 'mp4', description: 'Container of the fragments: mp4 (plays everywhere) or ts (the stream\'s own MPEG-TS).' }),
}, { additionalProperties: false });

export interface RecordStreamJobResult {
  fragments: Array<{ name: string; start: number; duration: number; size: number }>;
  recordedSeconds: number;
  requestedSeconds: number;
  endedEarly: boolean;
  endReason: 'completed' | 'stream-ended' | 'stalled';
  message?: string;
  variant: { bandwidth: number; width?: number; height?: number } | null;
}

/**
 * `record-stream`: an HLS live stream → `recording_duration` seconds of it in fragments of at most
 * `max_fragment_duration` seconds, each stored as an output the moment it is complete. See record.ts.
 */
export const recordStreamProcessor = defineProcessor({
  name: 'record-stream',
  version: '1',
  title: 'Record a live stream',
  description: 'Records an HLS live stream (an .m3u8 playlist URL) for a number of seconds into playable fragments, without re-encoding. Fragments can be fetched while the recording runs; a stream that ends early ends the job with what was recorded.',
  input: { kind: 'url' },
  params: RecordStreamParamsSchema,
  // One attempt: a retry would record a later stretch of a live stream under the same fragment names.
  policy: { concurrency: 4, timeoutMs: (MAX_RECORDING_SECONDS + 600) * 1000, attempts: 1, backoffMs: 5000, resource: 'io' },
  notes: 'Uses the ffmpeg program (tools.ffmpeg) with stream copy.',
  check: (config) => checkTools(config, 'ffmpeg'),
  async run(ctx, input, params): Promise<RecordStreamJobResult> {
    if (input.kind !== 'url') throw new InputError('INPUT_MISSING', 'record-stream takes the URL of an HLS playlist');
    const { recordStream } = await import('./record.js');
    const mime = params.format === 'ts' ? 'video/mp2t' : 'video/mp4';
    const r = await recordStream({
      playlistUrl: input.url,
      recordingDuration: params.recording_duration,
      maxFragmentDuration: params.max_fragment_duration,
      format: params.format,
      outDir: path.join(ctx.tmpdir, 'fragments'),
      config: ctx.config,
      signal: ctx.signal,
      onProgress: (s, t) => ctx.progress(s / t, `${Math.floor(s)} s of ${t} s recorded`),
      onFragment: async (f) => {
        await ctx.output(f.name, f.path, mime);
        await rm(f.path, { force: true }); // stored: a long recording should not hold its fragments twice
        ctx.log(`fragment ${f.name}: ${f.duration.toFixed(2)} s from ${f.start.toFixed(2)} s`);
      },
      onLog: (m, level) => ctx.log(m, level),
    });
    return {
      fragments: r.fragments.map(({ name, start, duration, size }) => ({ name, start, duration, size })),
      recordedSeconds: r.recordedSeconds,
      requestedSeconds: r.requestedSeconds,
      endedEarly: r.endedEarly,
      endReason: r.endReason,
      ...(r.message ? { message: r.message } : {}),
      variant: r.variant,
    };
  },
});
