import { execFile } from 'node:child_process';

/**
 * Runs `<cmd> <versionArgs>` and reports the first line of its output: the readiness check
 * (`/ready`) of processors that need an external program.
 */
export function checkTool(cmd: string, versionArgs: string[], label = cmd): Promise<{ ok: boolean; detail?: string }> {
  return new Promise((resolve) => {
    execFile(cmd, versionArgs, { encoding: 'utf8', timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code;
        resolve({ ok: false, detail: code === 'ENOENT' ? `${label} not found (${cmd})` : `${label} failed to start: ${(stderr || err.message).trim().split('\n')[0]}` });
        return;
      }
      const first = `${stdout}${stderr}`.trim().split('\n')[0] ?? '';
      resolve({ ok: true, detail: `${label} ${first.replace(/^(ffmpeg|ffprobe) version /, '').split(' Copyright')[0]}`.trim() });
    });
  });
}
