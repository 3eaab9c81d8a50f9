import type { Command } from 'commander';
import { jobDetail } from '../../operations/jobs.js';
import { withCommandDatabase } from '../context.js';
import { parseJobId } from '../job-arguments.js';
import { describeResult, historyLines, progressOf, tookOf } from '../job-view.js';
import { formatInteger, formatTime, printJson, printLine } from '../output.js';

/** Users listed by name in the human output; --json lists them all. */
const USERS_SHOWN = 10;

export function register(program: Command): void {
  program
    .command('job')
    .description('everything about one job: payload, result, the full error, its history, the users it created')
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON')
    .action(async (idText: string, flags: { json?: boolean }, command: Command) => {
      const id = parseJobId(idText);
      const detail = await withCommandDatabase(command, (store) => jobDetail(store, { id }));
      if (flags.json) {
        printJson(detail);
        return;
      }
      const { job, users } = detail;
      // A job that succeeded after failing keeps its last error; its history tells that story.
      const error = job.state === 'succeeded' ? null : job.error;
      const lines: Array<[string, string]> = [
        ['state', `${job.state} (attempt ${job.attempts} of ${job.max_attempts})`],
        ['payload', JSON.stringify(job.payload)],
        ['priority', String(job.priority)],
        ['progress', progressOf(job)],
        ['created', formatTime(job.created_at)],
        ['run at', formatTime(job.run_at)],
        ['started', formatTime(job.started_at)],
        ['finished', job.finished_at === null ? '' : `${formatTime(job.finished_at)} (took ${tookOf(job)})`],
        ['result', job.result === null ? '' : describeResult(job.task, job.result, { fullPath: true })],
        ['error', error ? (error.stack ?? `${error.name}: ${error.message}`) : ''],
        ['history', historyLines(job).join('\n')],
        [
          'users',
          users.length === 0
            ? ''
            : `${formatInteger(users.length)}: ${users.slice(0, USERS_SHOWN).join(', ')}${users.length > USERS_SHOWN ? ', ...' : ''}`,
        ],
      ];
      printLine(`Job ${job.id}: ${job.task}`);
      for (const [name, value] of lines) {
        if (value !== '') printLine(`  ${name.padEnd(9)}${value.replace(/\n/g, `\n${' '.repeat(11)}`)}`);
      }
    });
}
