import type { Command } from 'commander';
import { cancel, retry } from '../../operations/jobs.js';
import { withCommandDatabase } from '../context.js';
import { parseJobId } from '../job-arguments.js';
import { printJson, printLine } from '../output.js';

/** `retry` and `cancel`: one state change each, refused with the job's state when it does not apply. */
export function register(program: Command): void {
  program
    .command('retry')
    .description('put a failed or cancelled job back in the queue (attempts reset, its history kept)')
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON')
    .action(async (idText: string, flags: { json?: boolean }, command: Command) => {
      const id = parseJobId(idText);
      const retried = await withCommandDatabase(command, (store) => retry(store, { id }));
      if (flags.json) printJson(retried);
      else printLine(`Job ${id} is queued again.`);
    });

  program
    .command('cancel')
    .description('cancel a queued job, or stop a running one at its next progress point (none of its writes land)')
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON')
    .action(async (idText: string, flags: { json?: boolean }, command: Command) => {
      const id = parseJobId(idText);
      const { job, was } = await withCommandDatabase(command, (store) => cancel(store, { id }));
      if (flags.json) printJson({ job });
      else printLine(was === 'running' ? `Job ${id} cancelled; its worker stops it at its next progress point.` : `Job ${id} cancelled.`);
    });
}
