import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { parseRate, setTaskLimits, storedTaskLimits, type LimitsChange } from '../../queue/limits.js';
import { withCommandDatabase } from '../context.js';
import { printJson, printLine } from '../output.js';

// `limit <task>` and `limits`: a task's limits across every worker on the database, changed
// without a redeploy; kept in the database, obeyed by each worker from its next claim.

interface LimitFlags {
  concurrency?: string;
  rate?: string;
  groupConcurrency?: string;
  default?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('limit')
    .description("set a task's limits for every worker on the database, in place of its definition's (from each worker's next claim)")
    .argument('<task>', 'the task name')
    .option('--concurrency <n|none>', 'jobs of the task running at once, across every worker')
    .option('--rate <n/duration|none>', 'at most n starts in any window of the duration: 5/1s, 100/1m')
    .option('--group-concurrency <n|none>', "jobs running at once per group key (the key is the task definition's)")
    .option('--default', "drop the limits set here: the task's definition's hold again")
    .option('--json', 'print the limits as JSON')
    .addHelpText(
      'after',
      '\nA limit left out keeps what the database holds; `none` lifts it.\nExample: usergen limit send_mail --rate 5/1s --concurrency 2',
    )
    .action(async (task: string, flags: LimitFlags, command: Command) => {
      const change = changeOf(flags);
      const stored = await withCommandDatabase(command, (store) => setTaskLimits(store, task, change));
      if (flags.json) printJson(stored);
      else printLine(stored.limits === null ? `Task ${task}: its definition's limits hold.` : `Task ${task}: ${stored.label}, on every worker.`);
    });

  program
    .command('limits')
    .description('list the limits set in the database, by task')
    .option('--json', 'print them as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const limits = await withCommandDatabase(command, (store) => storedTaskLimits(store));
      if (flags.json) printJson(limits);
      else if (limits.length === 0) printLine("No limits set here: each task's definition's hold (usergen limit <task> --concurrency 2).");
      else for (const { task, label } of limits) printLine(`${task}: ${label}`);
    });
}

function changeOf(flags: LimitFlags): LimitsChange | null {
  const given = flags.concurrency !== undefined || flags.rate !== undefined || flags.groupConcurrency !== undefined;
  if (flags.default) {
    if (given) throw new UsageError('--default drops every limit set here: give it alone');
    return null;
  }
  if (!given) throw new UsageError('give a limit to set (--concurrency, --rate, --group-concurrency), or --default');
  return {
    ...(flags.concurrency !== undefined && { concurrency: countOf(flags.concurrency, '--concurrency') }),
    ...(flags.rate !== undefined && { rate: flags.rate === 'none' ? null : parseRate(flags.rate, '--rate') }),
    ...(flags.groupConcurrency !== undefined && { groupConcurrency: countOf(flags.groupConcurrency, '--group-concurrency') }),
  };
}

function countOf(text: string, option: string): number | null {
  if (text === 'none') return null;
  if (!/^\d{1,7}$/.test(text)) throw new UsageError(`${option} must be a whole number from 1, or none, got '${text}'`);
  return Number(text);
}
