import type { Command } from 'commander';
import { listJobsView } from '../../operations/jobs.js';
import { withCommandDatabase } from '../context.js';
import { selectionOf, selectionOptions, type SelectionFlags } from '../job-arguments.js';
import { MAX_JOBS_LIMIT } from '../../queue/steering.js';
import { outcomeOf, progressOf, tookOf } from '../job-view.js';
import { formatTime, printJson, printLine, renderTable } from '../output.js';
import { parseInteger } from '../parse.js';

interface Flags extends SelectionFlags {
  limit: string;
  before?: string;
  json?: boolean;
  wide?: boolean;
}

const HEAD = ['ID', 'Task', 'State', 'Attempts', 'Progress', 'Created (UTC)', 'Run at (UTC)', 'Took', 'Result or error'];
// To fit the terminal, the run time, the time taken, the creation time and the progress go, in
// that order, while the rest cannot fit even cut; then the result (and the task if need be) is cut.
const SHRINKABLE = [8, 1];
const DROPPABLE = [6, 7, 5, 4];

export function register(program: Command): void {
  selectionOptions(program.command('jobs').description('list the jobs in the queue, newest first'))
    .option('--limit <n>', 'how many, 1 to 10000', '20')
    .option('--before <id>', 'only jobs of a smaller id: the next page')
    .option('--wide', 'every column at full width, however wide the terminal')
    .option('--json', 'print the jobs as JSON')
    .action(async (flags: Flags, command: Command) => {
      const options = {
        ...selectionOf(flags),
        limit: parseInteger(flags.limit, '--limit', 1, MAX_JOBS_LIMIT),
        before: flags.before === undefined ? undefined : parseInteger(flags.before, '--before', 1, Number.MAX_SAFE_INTEGER),
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
