import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { listBackups, replaceBackupRecords } from '../../tasks/backup-records.js';
import { checkStore, inspectBackup, openStore, restoreBackup, setAsideDamaged } from '../../store/open.js';
import type { BackupCopy, JobStore } from '../../store/store.js';
import { countUsers } from '../../tasks/users.js';
import { UsageError, UserError } from '../../errors.js';
import { countLiveWorkers } from '../../queue/live-workers.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { checkGlobalOptions, databaseFile, withCommandDatabase, type CliContext } from '../context.js';
import { formatInteger, printLine } from '../output.js';
import { backupNow, damagedFileName } from '../../tasks/backup.js';
import { describeBackup } from './backup.js';

interface Flags extends BackupFlags {
  yes?: boolean;
  force?: boolean;
}

/**
 * What is at the database path before a restore: nothing (or an empty file: nothing to lose), a
 * sound database, or a damaged one, which a safety backup cannot copy and must not be written to.
 */
type Current = 'missing' | 'sound' | 'damaged';

export function register(program: Command, context: CliContext): void {
  addBackupOptions(
    program
      .command('restore')
      .description('check a backup, back the current database up, then replace the database with the backup')
      .argument('<file>', 'the backup file to restore (a bare name, as "usergen backups" prints it, is looked for in the backup folder)'),
    false,
  )
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'restore even while a worker is running (its jobs in flight may then be lost or rerun)')
    .action(async (file: string, flags: Flags, command: Command) => {
      checkGlobalOptions(command);
      if (!flags.yes && !process.stdin.isTTY) {
        throw new UsageError('restore replaces the whole database: pass --yes to confirm');
      }
      const dir = backupDir(flags, command);
      const source = backupToRestore(file, dir);
      const backup = inspectBackup(source);
      const target = databaseFile(command);
      const current = currentDatabase(target);
      const records = await withCommandDatabase(
        command,
        async (store) => {
          const workers = await readUnlessDamaged(store, current, () => countLiveWorkers(store));
          if (workers === undefined && !flags.force) {
            throw new UserError(`cannot tell whether workers are running on ${target} (it is damaged): stop them, then pass --force`);
          }
          if (workers !== undefined && workers > 0 && !flags.force) {
            throw new UserError(`${workers} worker(s) are running on ${target}: stop them first, or pass --force`);
          }
          if (!flags.yes && !(await confirm(target, current, store, source, backup))) {
            throw new UserError('restore cancelled; nothing changed');
          }
          if (current === 'damaged') {
            // Nothing goes into the damaged file: its bytes are set aside as they are.
            const [aside, wal] = setAsideDamaged(target, path.join(dir, damagedFileName(new Date())));
            printLine(`Current database is damaged: copied it${wal === undefined ? '' : ' and its WAL'} to ${aside} (not a backup: the backup list and --keep leave it alone)`);
          } else if (current === 'sound') {
            const safety = await backupNow(store, { dir, keep: null }, context.shutdownSignal());
            printLine(`Current database backed up to ${describeBackup(safety)}`);
          }
          // Read after the safety copy is on record, so it is kept too. A new file knows none.
          const records = current === 'missing' ? undefined : await readUnlessDamaged(store, current, () => listBackups(store.db));
          await restoreBackup(source, target);
          return records;
        },
        { create: true },
      );
      // Opening applies any migration the backup's older schema needs.
      const restored = await openStore(target);
      try {
        // The backups that exist are the ones the database knew before, not the copy's older list.
        if (records !== undefined) await replaceBackupRecords(restored.db, records);
        printLine(`Restored ${source} into ${target}: ${formatInteger(await countUsers(restored.db))} users.`);
      } finally {
        await restored.close();
      }
    });
}

/**
 * `file` as given; but a bare name (as `backups` prints the files in the backup folder) that is
 * not in the current folder is looked for in the backup folder.
 */
function backupToRestore(file: string, dir: string): string {
  if (file.includes('/') || file.includes(path.sep) || fs.existsSync(file)) return path.resolve(file);
  const inDir = path.join(dir, file);
  if (fs.existsSync(inDir)) return inDir;
  throw new UserError(`no such file: ${file} (looked in ${process.cwd()} and in the backup folder ${dir})`);
}

/** Checks the pages of the current file (read-only); refuses what is not a usergen database. */
function currentDatabase(target: string): Current {
  if (!fs.existsSync(target) || (fs.statSync(target).isFile() && fs.statSync(target).size === 0)) return 'missing';
  return checkStore(target, 'quick').ok ? 'sound' : 'damaged';
}

/** `read` from the current file; undefined when the file is damaged and so is what `read` needs. */
async function readUnlessDamaged<T>(store: JobStore, current: Current, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (current === 'damaged' && store.faultOf(error) === 'damaged') return undefined;
    throw error;
  }
}

async function confirm(target: string, current: Current, store: JobStore, file: string, backup: BackupCopy): Promise<boolean> {
  const users = await readUnlessDamaged(store, current, () => countUsers(store.db));
  const question =
    current === 'missing'
      ? `Create ${target} from ${file} (${formatInteger(backup.users)} users)? [y/N] `
      : `Replace ${target} (${current === 'damaged' ? 'damaged, ' : ''}${users === undefined ? '?' : formatInteger(users)} users) with ${file} (${formatInteger(backup.users)} users)? [y/N] `;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}
