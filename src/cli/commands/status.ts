import type { Command } from 'commander';
import { queueStatusView, type QueueStatusView } from '../../operations/status.js';
import type { ScheduleView } from '../../queue/status.js';
import { limitSentence } from '../../queue/limits.js';
import { withCommandDatabase } from '../context.js';
import { formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('jobs per state, live workers, the oldest waiting job, throughput, the last and next backup, the schedules')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const status = await withCommandDatabase(command, (store) => queueStatusView(store));
      if (flags.json) printJson(statusDocument(status));
      else await printStatus(status);
    });
}

/** The `--json` document: its fields as scripts already read them. */
function statusDocument(status: QueueStatusView) {
  return {
    counts: status.counts,
    workers: status.workers,
    oldest_ready_wait_ms: status.oldest_ready_wait_ms,
    jobs_per_second_last_minute: status.jobs_per_second_last_minute,
    last_backup_at: status.last_backup_at,
    next_backup: status.next_backup,
    waiting_for_a_worker_that_knows_their_task: status.waiting_for_a_worker_that_knows_their_task,
    schedules: status.schedules,
    paused_tasks: status.paused_tasks,
    limits: status.limits,
  };
}

async function printStatus(status: QueueStatusView): Promise<void> {
  const counts = Object.entries(status.counts).map(([state, count]) => `${state} ${formatInteger(count)}`);
  printLine(`Jobs: ${counts.join(', ')}`);
  const oldestWaitMs = status.oldest_ready_wait_ms;
  printLine(oldestWaitMs === null ? 'Nothing is waiting.' : `The oldest ready job has waited ${(oldestWaitMs / 1000).toFixed(1)}s.`);
  printLine(`Throughput: ${formatInteger(status.jobs_ended_last_minute)} jobs ended in the last minute (${status.jobs_per_second_last_minute}/s).`);
  printLine(`Last backup: ${status.last_backup_at === null ? 'none' : `${formatTime(status.last_backup_at)} UTC`}`);
  const next = status.next_backup;
  printLine(`Next backup: ${next === null ? 'none queued' : `job ${next.job_id}, ${next.state}, due ${formatTime(next.run_at)} UTC`}`);
  for (const schedule of status.schedules) printLine(scheduleLine(schedule));
  for (const { task, paused_at, ready } of status.paused_tasks) {
    printLine(`Task ${task} is paused since ${formatTime(paused_at)} UTC: ${formatInteger(ready)} ready job(s) wait (usergen resume ${task}).`);
  }
  for (const limit of status.limits) printLine(limitSentence(limit));
  for (const { task, ready } of status.waiting_for_a_worker_that_knows_their_task) {
    printLine(`${formatInteger(ready)} ready job(s) of task ${task} wait for a worker that knows it (start one with --tasks).`);
  }
  if (status.workers.length === 0) {
    printLine('No worker is running. Start one with: usergen worker');
    return;
  }
  const checkedAt = Date.parse(status.checked_at);
  const rows = status.workers.map((worker) => [
    worker.host,
    String(worker.pid),
    String(worker.concurrency),
    formatInteger(worker.jobs_done),
    `${((checkedAt - Date.parse(worker.last_heartbeat_at)) / 1000).toFixed(1)}s ago`,
  ]);
  printLine(await renderTable(['Host', 'PID', 'Concurrency', 'Jobs done', 'Last heartbeat'], rows));
}

function scheduleLine(schedule: ScheduleView): string {
  const next = schedule.paused ? 'paused' : `next ${formatTime(schedule.next_run_at)} UTC`;
  const last = schedule.last_job_id === null ? 'no job yet' : `last job ${schedule.last_job_id} ${schedule.last_job_state ?? 'purged'}`;
  const skipped = schedule.skipped === 0 ? '' : `, ${formatInteger(schedule.skipped)} slot(s) skipped`;
  return `Schedule ${schedule.name} (task ${schedule.task}, ${schedule.cadence}): ${next}, ${last}${skipped}.`;
}
