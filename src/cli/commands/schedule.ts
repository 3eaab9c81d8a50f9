import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { cronCadence, everyCadence, type Cadence } from '../../queue/schedule.js';
import { runBackupSchedule, type BackupScheduleOptions, type ScheduleEvent } from '../../operations/schedule.js';
import { addBackupOptions, backupDir, parseKeep, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase, type CliContext } from '../context.js';
import { formatTime, printLine, printNotice } from '../output.js';
import { parseDuration } from '../parse.js';
import { describeBackup, printBackupDeletions } from './backup.js';

interface Flags extends BackupFlags {
  every?: string;
  cron?: string;
  enqueueOnly?: boolean;
}

async function parseCadence(flags: Flags): Promise<Cadence> {
  if ((flags.every === undefined) === (flags.cron === undefined)) {
    throw new UsageError('schedule backup needs exactly one of --every <duration> or --cron "<expression>"');
  }
  if (flags.every !== undefined) return everyCadence(parseDuration(flags.every, '--every', 1000), flags.every);
  return cronCadence(flags.cron!).catch((error: unknown) => {
    throw error instanceof UsageError ? new UsageError(`--cron: ${error.message}`) : error;
  });
}

export function register(program: Command, context: CliContext): void {
  const schedule = program.command('schedule').description('run periodic jobs in the foreground');
  addBackupOptions(
    schedule.command('backup').description('back the database up each period (aligned to the clock: --every 1h runs at the top of each hour)'),
  )
    .option('--every <duration>', 'the period: 15s, 30m, 1h, 1d, ...')
    .option('--cron <expression>', 'a cron expression instead, e.g. "0 */6 * * *"')
    .option('--enqueue-only', 'only enqueue the backup jobs; a "usergen worker" runs them')
    .addHelpText(
      'after',
      '\nEach slot gets one backup job, however many schedulers run on the file. On start, if the newest\nbackup in the folder is older than one period, one catch-up backup is made at once, unless a\nbackup job for the folder is already queued or running: that one is worked instead (with\n--enqueue-only, left to a worker). SIGINT/SIGTERM: a backup in progress finishes, then the\nscheduler exits 0.',
    )
    .action(async (flags: Flags, command: Command) => {
      const cadence = await parseCadence(flags);
      const payload = { dir: backupDir(flags, command), keep: parseKeep(flags) };
      await withCommandDatabase(command, async (store) => {
        // A URL as it prints (without its password); a file by its absolute path.
        const file = store.location;
        const options: BackupScheduleOptions = {
          cadence,
          payload,
          enqueueOnly: flags.enqueueOnly === true,
          signal: context.shutdownSignal(),
          report: (event) => printEvent(event, file),
        };
        printLine(
          `Backing up ${file} ${options.cadence.label} into ${options.payload.dir}` +
            (options.payload.keep === null ? '.' : `, keeping ${options.payload.keep}.`),
        );
        await runBackupSchedule(store, options);
      });
    });
}

function printEvent(event: ScheduleEvent, file: string): void {
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
