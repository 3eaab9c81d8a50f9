import type { Command } from 'commander';
import { listJobsView } from '../../operations/jobs.js';
import { withCommandDatabase } from '../context.js';
import { parseJobState } from '../job-arguments.js';
import { outcomeOf, progressOf, tookOf } from '../job-view.js';
import { formatTime, printJson, printLine, renderTable } from '../output.js';
import { parseInteger } from '../parse.js';

interface Flags {
  state?: string;
  task?: string;
  limit: string;
  json?: boolean;
  wide?: boolean;
}

const HEAD = ['ID', 'Task', 'State', 'Attempts', 'Progress', 'Created (UTC)', 'Run at (UTC)', 'Took', 'Result or error'];
// To fit the terminal, the run time, the time taken, the creation time and the progress go, in
// that order, while the rest cannot fit even cut; then the result (and the task if need be) is cut.
const SHRINKABLE = [8, 1];
const DROPPABLE = [6, 7, 5, 4];

export function register(program: Command): void {
  program
    .command('jobs')
    .description('list the jobs in the queue, newest first')
    .option('--state <state>', 'only jobs in this state: queued, running, succeeded, failed or cancelled')
    .option('--task <name>', 'only jobs of this task')
    .option('--limit <n>', 'how many, 1 to 10000', '20')
    .option('--wide', 'every column at full width, however wide the terminal')
    .option('--json', 'print the jobs as JSON')
    .action(async (flags: Flags, command: Command) => {
      const options = {
        state: flags.state === undefined ? undefined : parseJobState(flags.state),
        task: flags.task,
        limit: parseInteger(flags.limit, '--limit', 1, 10_000),
      };
      const listing = await withCommandDatabase(command, (store) => listJobsView(store, options));
      if (flags.json) {
        printJson(listing);
        return;
      }
      const { jobs, waiting_for_a_worker_that_knows_their_task: waiting } = listing;
      if (jobs.length === 0) {
        printLine('No jobs match. Queue one with: usergen generate 50');
        return;
      }
      const rows = jobs.map((job) => [
        String(job.id),
        job.task,
        job.state,
        `${job.attempts}/${job.max_attempts}`,
        progressOf(job),
        formatTime(job.created_at),
        formatTime(job.run_at),
        tookOf(job),
        outcomeOf(job, flags.wide ? Infinity : undefined),
      ]);
      printLine(await renderTable(HEAD, rows, { shrinkable: SHRINKABLE, droppable: DROPPABLE, wide: flags.wide }));
      const unknown = jobs.filter((job) => waiting.includes(job.id));
      for (const task of new Set(unknown.map((job) => job.task))) {
        const ids = unknown.filter((job) => job.task === task).map((job) => job.id);
        printLine(`Job(s) ${ids.join(', ')} of task ${task} wait for a worker that knows it: no running worker runs ${task}.`);
      }
    });
}
