import type { Command } from 'commander';
import { UserError } from '../../errors.js';
import { cancelJob, retryJob } from '../../queue/admin-store.js';
import { signalWork } from '../../queue/wakeup.js';
import { withCommandDatabase } from '../context.js';
import { parseJobId, requireJob } from '../job-arguments.js';
import { toJobView } from '../job-view.js';
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
      const job = await withCommandDatabase(command, async (db) => {
        const after = await retryJob(db, id);
        if (!after) throw new UserError(`job ${id} is ${(await requireJob(db, id)).state}: only failed or cancelled jobs can be retried`);
        signalWork(db);
        return after;
      });
      if (flags.json) printJson({ job: toJobView(job) });
      else printLine(`Job ${id} is queued again.`);
    });

  program
    .command('cancel')
    .description('cancel a queued job, or stop a running one at its next progress point (none of its writes land)')
    .argument('<id>', 'the job id')
    .option('--json', 'print the job as JSON')
    .action(async (idText: string, flags: { json?: boolean }, command: Command) => {
      const id = parseJobId(idText);
      const { job, was } = await withCommandDatabase(command, async (db) => {
        const before = await requireJob(db, id);
        const after = await cancelJob(db, id);
        if (!after) throw new UserError(`job ${id} is ${before.state}: only queued or running jobs can be cancelled`);
        return { job: after, was: before.state };
      });
      if (flags.json) printJson({ job: toJobView(job) });
      else printLine(was === 'running' ? `Job ${id} cancelled; its worker stops it at its next progress point.` : `Job ${id} cancelled.`);
    });
}
