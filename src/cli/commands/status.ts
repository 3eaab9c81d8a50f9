import type { Command } from 'commander';
import { newestBackupTime } from '../../db/backups.js';
import { queueStatus } from '../../queue/admin-store.js';
import { withCommandDatabase } from '../context.js';
import { formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';

export function register(program: Command): void {
  program
    .command('status')
    .description('jobs per state, live workers, the oldest waiting job, throughput, the last backup')
    .option('--json', 'print the status as JSON')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const now = Date.now();
      const { status, lastBackup } = await withCommandDatabase(command, async (db) => ({
        status: await queueStatus(db, now),
        lastBackup: await newestBackupTime(db),
      }));
      const oldestWaitMs = status.oldest_ready_since === null ? null : now - status.oldest_ready_since;
      const perSecond = +(status.finished_last_minute / 60).toFixed(2);
      if (flags.json) {
        printJson({
          counts: status.counts,
          workers: status.workers.map((worker) => ({
            id: worker.id,
            host: worker.host,
            pid: worker.pid,
            concurrency: worker.concurrency,
            jobs_done: worker.jobs_done,
            started_at: new Date(worker.started_at).toISOString(),
            last_heartbeat_at: new Date(worker.last_heartbeat_at).toISOString(),
          })),
          oldest_ready_wait_ms: oldestWaitMs,
          jobs_per_second_last_minute: perSecond,
          last_backup_at: lastBackup === undefined ? null : new Date(lastBackup).toISOString(),
          waiting_for_a_worker_that_knows_their_task: status.unknown_tasks,
        });
        return;
      }
      const counts = Object.entries(status.counts).map(([state, count]) => `${state} ${formatInteger(count)}`);
      printLine(`Jobs: ${counts.join(', ')}`);
      printLine(
        oldestWaitMs === null ? 'Nothing is waiting.' : `The oldest ready job has waited ${(oldestWaitMs / 1000).toFixed(1)}s.`,
      );
      printLine(`Throughput: ${formatInteger(status.finished_last_minute)} jobs ended in the last minute (${perSecond}/s).`);
      printLine(`Last backup: ${lastBackup === undefined ? 'none' : `${formatTime(lastBackup)} UTC`}`);
      for (const { task, ready } of status.unknown_tasks) {
        printLine(`${formatInteger(ready)} ready job(s) of task ${task} wait for a worker that knows it (start one with --tasks).`);
      }
      if (status.workers.length === 0) {
        printLine('No worker is running. Start one with: usergen worker');
        return;
      }
      const rows = status.workers.map((worker) => [
        worker.host,
        String(worker.pid),
        String(worker.concurrency),
        formatInteger(worker.jobs_done),
        `${((now - worker.last_heartbeat_at) / 1000).toFixed(1)}s ago`,
      ]);
      printLine(await renderTable(['Host', 'PID', 'Concurrency', 'Jobs done', 'Last heartbeat'], rows));
    });
}
