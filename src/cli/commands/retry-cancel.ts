import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { cancel, retry } from '../../operations/jobs.js';
import { cancelJobs, retryJobs } from '../../queue/steering.js';
import type { JobSelection } from '../../store/store.js';
import { withCommandDatabase } from '../context.js';
import { parseJobId, selectionOf, selectionOptions, type SelectionFlags } from '../job-arguments.js';
import { formatInteger, printJson, printLine } from '../output.js';

// `retry` and `cancel`: one job by id, refused with its state when the change does not apply; or
// every job a filter selects, in one transaction.

interface Flags extends SelectionFlags {
  json?: boolean;
}

export function register(program: Command): void {
  selectionOptions(
    program
      .command('retry')
      .description('put a failed or cancelled job back in the queue (attempts reset, its history kept); or every one a filter selects')
      .argument('[id]', 'the job id; or none, and a filter: usergen retry --state failed --task send_mail'),
  )
    .option('--json', 'print the job (or the count) as JSON')
    .action(async (idText: string | undefined, flags: Flags, command: Command) => {
      const target = targetOf(idText, flags);
      if (typeof target !== 'number') {
        const retried = await withCommandDatabase(command, (store) => retryJobs(store, target));
        if (flags.json) printJson(retried);
        else printLine(`Retried ${formatInteger(retried.retried)} job(s): they are queued again.`);
        return;
      }
      const retried = await withCommandDatabase(command, (store) => retry(store, { id: target }));
      if (flags.json) printJson(retried);
      else printLine(`Job ${target} is queued again.`);
    });

  selectionOptions(
    program
      .command('cancel')
      .description('cancel a queued job, or stop a running one at its next progress point (none of its writes land); or every one a filter selects')
      .argument('[id]', 'the job id; or none, and a filter: usergen cancel --state queued --task send_mail'),
  )
    .option('--json', 'print the job (or the count) as JSON')
    .action(async (idText: string | undefined, flags: Flags, command: Command) => {
      const target = targetOf(idText, flags);
      if (typeof target !== 'number') {
        const cancelled = await withCommandDatabase(command, (store) => cancelJobs(store, target));
        if (flags.json) printJson(cancelled);
        else printLine(`Cancelled ${formatInteger(cancelled.cancelled)} job(s); a running one stops at its next progress point.`);
        return;
      }
      const { job, was } = await withCommandDatabase(command, (store) => cancel(store, { id: target }));
      if (flags.json) printJson({ job });
      else printLine(was === 'running' ? `Job ${target} cancelled; its worker stops it at its next progress point.` : `Job ${target} cancelled.`);
    });
}

/** One job's id, or the filter: exactly one of them, so that a missing id never means "every job". */
function targetOf(idText: string | undefined, flags: SelectionFlags): number | JobSelection {
  const filtered = flags.state !== undefined || flags.task !== undefined || flags.payload.length > 0;
  if (idText !== undefined && filtered) throw new UsageError('give a job id or a filter (--state, --task, --payload), not both');
  if (idText !== undefined) return parseJobId(idText);
  if (!filtered) throw new UsageError('give a job id, or a filter (--state, --task, --payload) for every job it selects');
  return selectionOf(flags);
}
