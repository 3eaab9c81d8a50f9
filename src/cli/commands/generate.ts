import type { Command } from 'commander';
import type { JobRow } from '../../store/schema.js';
import type { JobStore } from '../../store/store.js';
import { InterruptedError, UserError } from '../../errors.js';
import { enqueueGeneration, type GenerateOptions } from '../../operations/generate.js';
import { toJobView, type JobView } from '../../operations/job-view.js';
import { DEFAULT_HASH_ITERATIONS } from '../../tasks/password.js';
import { generateUsers, MAX_TOTAL, MIN_TOTAL } from '../../tasks/generate-users.js';
import { withCommandDatabase, type CliContext } from '../context.js';
import { printJson, printLine, printNotice, startSpinner } from '../output.js';
import { parseDuration, parseHashIterations, parseInteger } from '../parse.js';

interface Flags {
  wait?: boolean;
  priority: string;
  delay?: string;
  hashIterations?: string;
  json?: boolean;
}

function parseOptions(totalText: string, flags: Flags): GenerateOptions {
  return {
    total: parseInteger(totalText, 'total', MIN_TOTAL, MAX_TOTAL),
    iterations: parseHashIterations(flags.hashIterations),
    priority: parseInteger(flags.priority, '--priority', -100, 100),
    delayMs: flags.delay === undefined ? 0 : parseDuration(flags.delay, '--delay'),
  };
}

export function register(program: Command, context: CliContext): void {
  program
    .command('generate')
    .description(`enqueue a job that creates <total> random users (${MIN_TOTAL} to ${MAX_TOTAL})`)
    .argument('<total>', `how many users: an integer from ${MIN_TOTAL} to ${MAX_TOTAL}`)
    .option('--wait', 'follow the job to its end and print its result; with no worker alive, run it here')
    .option('--priority <n>', 'higher runs sooner, from -100 to 100', '0')
    .option('--delay <duration>', 'run no sooner than this from now (250ms, 30s, 5m, 1h, 1d)')
    .option('--hash-iterations <n>', `PBKDF2 iterations per password hash (default: $USERGEN_HASH_ITERATIONS, else ${DEFAULT_HASH_ITERATIONS})`)
    .option('--json', 'print the job as JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  usergen generate 200            queue it for a worker\n  usergen generate 200 --wait     queue it and follow it to the end',
    )
    .action(async (totalText: string, flags: Flags, command: Command) => {
      const options = parseOptions(totalText, flags);
      await withCommandDatabase(
        command,
        async (store) => {
          const { job, live_workers } = await enqueueGeneration(store, options);
          if (!flags.wait) {
            if (flags.json) printJson({ job });
            else printLine(`Queued job ${job.id}: generate ${options.total} users.`);
            if (live_workers === 0) {
              printNotice('No worker is running: start one with "usergen worker", or use "generate --wait".');
            }
            return;
          }
          if (!flags.json) printLine(`Queued job ${job.id}: generate ${options.total} users.`);
          const finished = toJobView(await followJob(store, job.id, context.shutdownSignal()));
          if (flags.json) printJson({ job: finished });
          if (finished.state === 'succeeded') {
            if (!flags.json) printLine(finished.result as string);
            return;
          }
          throw new UserError(`job ${job.id} ${describeEnd(finished)}`);
        },
        { create: true },
      );
    });
}

async function followJob(store: JobStore, id: number, signal: AbortSignal): Promise<JobRow> {
  const { awaitJob } = await import('../../queue/wait.js');
  const spinner = await startSpinner(`Job ${id}: waiting for a worker`);
  try {
    return await awaitJob(store, id, {
      signal,
      runHere: 'when-no-worker',
      tasks: [generateUsers],
      onUpdate: (row) => {
        if (row.progress_total !== null) {
          spinner.update(`Job ${row.id}: ${row.progress_current ?? 0}/${row.progress_total} users`);
        } else if (row.state === 'running') {
          spinner.update(`Job ${row.id}: starting`);
        }
      },
    });
  } catch (error) {
    if (!signal.aborted) throw error;
    throw new InterruptedError(`stopped waiting for job ${id}; it stays in the queue (see "usergen worker")`);
  } finally {
    spinner.stop();
  }
}

function describeEnd(job: JobView): string {
  if (job.state === 'cancelled') return 'was cancelled';
  return `failed after ${job.attempts} attempt(s): ${job.error?.message ?? 'no error recorded'}`;
}
