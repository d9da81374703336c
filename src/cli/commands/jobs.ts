import type { Command } from 'commander';
import { jobView } from '../../http/v1/job.view.js';
import { JOB_STATUSES, type JobStatus } from '../../core/job.types.js';
import { openRuntime, type Runtime } from '../../runtime.js';
import { configFrom, withConfigOptions } from '../options.js';

async function withRuntime<T>(opts: Record<string, unknown>, fn: (rt: Runtime) => Promise<T>): Promise<T> {
  const rt = await openRuntime(configFrom(opts));
  try {
    return await fn(rt);
  } finally {
    await rt.close();
  }
}

/** `mediaflow jobs …`: inspect and steer jobs in a data folder (works while a server runs on it). */
export function registerJobs(program: Command) {
  const jobs = program.command('jobs').description('list, inspect, cancel, retry and delete jobs in the data folder');
  withConfigOptions(jobs.command('list'))
    .option('--status <list>', `comma-separated: ${JOB_STATUSES.join(', ')}`)
    .option('--processor <list>', 'comma-separated processor names')
    .option('--limit <n>', 'how many', '20')
    .option('--json', 'JSON output')
    .action((opts) => withRuntime(opts, async (rt) => {
      const page = await rt.jobs.list({ status: opts.status?.split(',') as JobStatus[] | undefined, processor: opts.processor?.split(','), limit: Number(opts.limit) });
      if (opts.json) return console.log(JSON.stringify(page.items.map(jobView), null, 2));
      for (const j of page.items) {
        console.log(`${j.id}  ${j.processor.padEnd(14)} ${j.status.padEnd(9)} ${String(Math.round(j.progress * 100)).padStart(3)}%  ${j.createdAt}${j.error ? `  ${j.error.code}: ${j.error.message}` : ''}`);
      }
    }));
  for (const [name, desc] of [['get', 'show one job as JSON'], ['cancel', 'cancel a queued or running job'], ['retry', 'queue a failed or canceled job again'], ['delete', 'delete a job and its files']] as const) {
    withConfigOptions(jobs.command(name)).argument('<id>').description(desc).action((id: string, opts) => withRuntime(opts, async (rt) => {
      const job = name === 'get' ? await rt.jobs.get(id) : name === 'cancel' ? await rt.jobs.cancel(id) : name === 'retry' ? await rt.jobs.retry(id) : await rt.jobs.delete(id);
      console.log(JSON.stringify(jobView(job), null, 2));
    }));
  }
}
