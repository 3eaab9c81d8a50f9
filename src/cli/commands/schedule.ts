import path from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { newestBackupTime } from '../../db/backups.js';
import type { Database } from '../../db/schema.js';
import { toError, UsageError } from '../../errors.js';
import { parseStoredError } from '../../queue/errors.js';
import { cronCadence, everyCadence, slotKey, type Cadence } from '../../queue/schedule.js';
import { enqueueUnique } from '../../queue/task.js';
import { awaitJob } from '../../queue/wait.js';
import { BACKUP_GRACE_MS, backupTask, type BackupPayload, type BackupResult } from '../../tasks/backup.js';
import { addBackupOptions, backupDir, parseKeep, type BackupFlags } from '../backup-options.js';
import { checkGlobalOptions, databaseFile, openCommandDatabase, type CliContext } from '../context.js';
import { formatTime, printLine, printNotice } from '../output.js';
import { parseDuration } from '../parse.js';
import { describeBackup } from './backup.js';

interface Flags extends BackupFlags {
  every?: string;
  cron?: string;
  enqueueOnly?: boolean;
}

export interface BackupScheduleOptions {
  cadence: Cadence;
  payload: BackupPayload;
  /** Only enqueue each slot's job; a `usergen worker` runs it. */
  enqueueOnly: boolean;
}

async function parseCadence(flags: Flags): Promise<Cadence> {
  if ((flags.every === undefined) === (flags.cron === undefined)) {
    throw new UsageError('schedule backup needs exactly one of --every <duration> or --cron "<expression>"');
  }
  if (flags.every !== undefined) return everyCadence(parseDuration(flags.every, '--every', 1000), flags.every);
  return cronCadence(flags.cron!);
}

export function register(program: Command, context: CliContext): void {
  const schedule = program.command('schedule').description('run periodic jobs in the foreground');
  addBackupOptions(
    schedule
      .command('backup')
      .description('back the database up each period (aligned to the clock: --every 1h runs at the top of each hour)'),
  )
    .option('--every <duration>', 'the period: 15s, 30m, 1h, 1d, ...')
    .option('--cron <expression>', 'a cron expression instead, e.g. "0 */6 * * *"')
    .option('--enqueue-only', 'only enqueue the backup jobs; a "usergen worker" runs them')
    .addHelpText(
      'after',
      '\nEach slot gets one backup job, however many schedulers run on the file. On start, if the newest\nbackup is older than one period, one catch-up backup is made at once. SIGINT/SIGTERM: a backup\nin progress finishes, then the scheduler exits 0.',
    )
    .action(async (flags: Flags, command: Command) => {
      const options: BackupScheduleOptions = {
        cadence: await parseCadence(flags),
        payload: { dir: backupDir(flags, command), keep: parseKeep(flags) },
        enqueueOnly: flags.enqueueOnly === true,
      };
      checkGlobalOptions(command);
      const db = await openCommandDatabase(command);
      try {
        printLine(
          `Backing up ${path.resolve(databaseFile(command))} ${options.cadence.label} into ${options.payload.dir}` +
            (options.payload.keep === null ? '.' : `, keeping ${options.payload.keep}.`),
        );
        await runBackupSchedule(db, options, context.shutdownSignal());
      } finally {
        await db.destroy();
      }
    });
}

/** Runs until `signal` aborts: a catch-up backup if one is due, then one backup per slot. */
export async function runBackupSchedule(db: Kysely<Database>, options: BackupScheduleOptions, signal: AbortSignal): Promise<void> {
  const { cadence } = options;
  const newest = await newestBackupTime(db);
  if (newest === undefined || Date.now() - newest > cadence.periodMs) {
    printLine(newest === undefined ? 'No backup yet: backing up now.' : `The newest backup is from ${formatTime(newest)} UTC: catching up now.`);
    await runSlot(db, options, cadence.slotOf(Date.now()), signal);
  }
  while (!signal.aborted) {
    const next = cadence.next(Date.now());
    printLine(`Next backup at ${formatTime(next)} UTC.`);
    if (!(await sleepUntil(next, signal))) return;
    await runSlot(db, options, next, signal);
  }
}

async function runSlot(db: Kysely<Database>, options: BackupScheduleOptions, slot: number, signal: AbortSignal): Promise<void> {
  const job = await enqueueUnique(db, backupTask, options.payload, slotKey(backupTask.name, slot));
  if (!job) {
    printLine(`The backup for ${formatTime(slot)} UTC is already another scheduler's.`);
    return;
  }
  if (options.enqueueOnly) {
    printLine(`Queued backup job ${job.id} for ${formatTime(slot)} UTC.`);
    return;
  }
  try {
    const done = await awaitJob(db, job.id, { runHere: 'always', signal, graceMs: BACKUP_GRACE_MS });
    if (done.state === 'succeeded') printLine(`Backup written: ${describeBackup(JSON.parse(done.result!) as BackupResult)}`);
    else printNotice(`usergen: backup job ${job.id} ${done.state}: ${parseStoredError(done.error)?.message ?? ''}`);
  } catch (error) {
    if (!signal.aborted) printNotice(`usergen: backup job ${job.id}: ${toError(error).message}`);
  }
}

/** Resolves true at `time`, or false as soon as `signal` aborts. */
function sleepUntil(time: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    const finish = (reached: boolean) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(reached);
    };
    const onAbort = () => finish(false);
    const timer = setTimeout(() => finish(true), Math.max(0, time - Date.now()));
    if (signal.aborted) finish(false);
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}
