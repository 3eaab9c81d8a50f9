import type { Command } from 'commander';
import { listSchedules, pauseSchedule, removeSchedule, resumeSchedule, type Schedule } from '../../queue/schedules.js';
import type { JobStore } from '../../store/store.js';
import { withCommandDatabase } from '../context.js';
import { formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';

const HEAD = ['Name', 'Task', 'When', 'Next (UTC)', 'Last job', 'Skipped', 'Catch-up'];

export function register(program: Command): void {
  const schedules = program
    .command('schedules')
    .description('list the schedules saved in the database (usergen schedule <task> ... saves one)')
    .option('--json', 'print the schedules as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const listed = await withCommandDatabase(command, listSchedules);
      if (flags.json) return printJson(listed);
      if (listed.length === 0) return printLine('No schedules. Save one with: usergen schedule backup --every 1h --save');
      printLine(await renderTable(HEAD, listed.map(rowOf), { shrinkable: [2] }));
    });
  const steer = (name: string, description: string, act: (schedule: string) => (store: JobStore) => Promise<string>) =>
    schedules
      .command(`${name} <name>`)
      .description(description)
      .action(async (schedule: string, _flags: unknown, command: Command) => {
        printLine(await withCommandDatabase(command, act(schedule)));
      });
  steer('pause', 'no slot of the schedule fires until it is resumed', (name) => async (store) => {
    await pauseSchedule(store, name);
    return `Paused schedule ${name}.`;
  });
  steer('resume', 'fire the schedule again from its next slot (those of the pause are not fired)', (name) => async (store) => {
    const schedule = await resumeSchedule(store, name);
    return `Resumed schedule ${name}: next at ${formatTime(schedule.next_run_at)} UTC.`;
  });
  steer('remove', 'delete the schedule (its jobs stay)', (name) => async (store) => {
    await removeSchedule(store, name);
    return `Removed schedule ${name}.`;
  });
}

function rowOf(schedule: Schedule): string[] {
  const last = schedule.last_job_id === null ? '' : `${schedule.last_job_id} ${schedule.last_job_state ?? 'purged'}`;
  return [
    schedule.name,
    schedule.task,
    schedule.cadence.replace(/^(every|on) /, ''),
    schedule.paused ? 'paused' : formatTime(schedule.next_run_at),
    last,
    formatInteger(schedule.skipped),
    schedule.catch_up,
  ];
}
