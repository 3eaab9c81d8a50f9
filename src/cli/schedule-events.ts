import type { ScheduleEvent } from '../operations/schedule.js';
import { describeBackup, printBackupDeletions } from './commands/backup.js';
import { formatTime, printLine, printNotice } from './output.js';

// What a foreground backup scheduler says as it goes (see operations/schedule.ts).

export function printEvent(event: ScheduleEvent, file: string): void {
  switch (event.type) {
    case 'pending':
      return printLine(
        `Backup job ${event.job.id}${event.job.unique_key === null ? '' : ` (${event.job.unique_key})`} is ${event.job.state}: no catch-up.`,
      );
    case 'pending-done':
      printLine(`Backup job ${event.jobId} done: ${describeBackup(event.result)}`);
      return printBackupDeletions(event.result);
    case 'pending-failed':
      return printNotice(`usergen: backup job ${event.jobId} failed: ${event.message}`);
    case 'catch-up':
      return printLine(
        event.newest === undefined ? 'No backup yet: backing up now.' : `The newest backup is from ${formatTime(event.newest)} UTC: catching up now.`,
      );
    case 'next':
      return printLine(`Next backup at ${formatTime(event.at)} UTC.`);
    case 'taken':
      return printLine(`The backup for ${formatTime(event.slot)} UTC is already another scheduler's.`);
    case 'queued':
      return printLine(`Queued backup job ${event.jobId} for ${formatTime(event.slot)} UTC.`);
    case 'no-worker':
      return printNotice(`usergen: warning: no worker is running on ${file}: queued backups wait until one starts (usergen worker)`);
    case 'done':
      printLine(`Backup written: ${describeBackup(event.result)}`);
      return printBackupDeletions(event.result);
    case 'failed':
      return printNotice(`usergen: backup for ${formatTime(event.slot)} UTC failed: ${event.message}`);
  }
}
