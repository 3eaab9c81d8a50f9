import type { Command } from 'commander';
import { pauseTask, resumeTask, type TaskPause } from '../../queue/pauses.js';
import { withCommandDatabase } from '../context.js';
import { printJson, printLine } from '../output.js';

// `pause <task>` and `resume <task>`: for an incident (a provider down, a bug found), every worker
// on the database stops claiming the task's jobs until it is resumed.

export function register(program: Command): void {
  program
    .command('pause')
    .description("stop every worker on the database from claiming a task's jobs (running ones finish; enqueueing goes on)")
    .argument('<task>', 'the task name')
    .option('--json', 'print the pause as JSON')
    .action(async (task: string, flags: { json?: boolean }, command: Command) => {
      const pause = await withCommandDatabase(command, (store) => pauseTask(store, task));
      if (flags.json) printJson(pause);
      else printLine(pausedLine(pause));
    });

  program
    .command('resume')
    .description("let workers claim a paused task's jobs again (they are woken at once)")
    .argument('<task>', 'the task name')
    .option('--json', 'print the task as JSON')
    .action(async (task: string, flags: { json?: boolean }, command: Command) => {
      const resumed = await withCommandDatabase(command, (store) => resumeTask(store, task));
      if (flags.json) printJson(resumed);
      else printLine(resumed.changed ? `Resumed task ${task}: workers claim its jobs again.` : `Task ${task} was not paused.`);
    });
}

function pausedLine(pause: TaskPause): string {
  const how = pause.changed ? 'Paused' : 'Already paused:';
  return `${how} task ${pause.task}: no worker claims its jobs until \`usergen resume ${pause.task}\` (running ones finish).`;
}
