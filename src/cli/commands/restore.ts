import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { listBackups, replaceBackupRecords } from '../../db/backups.js';
import { openDatabase } from '../../db/open.js';
import { inspectSnapshot, restoreSnapshot, type SnapshotInfo } from '../../db/snapshot.js';
import { countUsers } from '../../db/users.js';
import { UsageError, UserError } from '../../errors.js';
import { countLiveWorkers } from '../../queue/store.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { checkGlobalOptions, databaseFile, withCommandDatabase, type CliContext } from '../context.js';
import { formatInteger, printLine } from '../output.js';
import { backupNow } from '../../tasks/backup.js';
import { describeBackup } from './backup.js';

interface Flags extends BackupFlags {
  yes?: boolean;
  force?: boolean;
}

export function register(program: Command, context: CliContext): void {
  addBackupOptions(
    program
      .command('restore')
      .description('check a backup, back the current database up, then replace the database with the backup')
      .argument('<file>', 'the backup file to restore'),
    false,
  )
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'restore even while a worker is running (its jobs in flight may then be lost or rerun)')
    .action(async (file: string, flags: Flags, command: Command) => {
      checkGlobalOptions(command);
      if (!flags.yes && !process.stdin.isTTY) {
        throw new UsageError('restore replaces the whole database: pass --yes to confirm');
      }
      const backup = inspectSnapshot(path.resolve(file));
      const target = databaseFile(command);
      const records = await withCommandDatabase(command, async (db) => {
        const workers = await countLiveWorkers(db);
        if (workers > 0 && !flags.force) {
          throw new UserError(`${workers} worker(s) are running on ${target}: stop them first, or pass --force`);
        }
        if (!flags.yes && !(await confirm(target, await countUsers(db), file, backup))) {
          throw new UserError('restore cancelled; nothing changed');
        }
        const safety = await backupNow(db, { dir: backupDir(flags, command), keep: null }, context.shutdownSignal());
        printLine(`Current database backed up to ${describeBackup(safety)}`);
        // Read after the safety copy is on record, so it is kept too.
        const records = await listBackups(db);
        await restoreSnapshot(path.resolve(file), target);
        return records;
      });
      // Opening applies any migration the backup's older schema needs.
      const restored = await openDatabase(target);
      try {
        // The backups that exist are the ones the database knew before, not the copy's older list.
        await replaceBackupRecords(restored, records);
        printLine(`Restored ${file} into ${target}: ${formatInteger(await countUsers(restored))} users.`);
      } finally {
        await restored.destroy();
      }
    });
}

async function confirm(target: string, users: number, file: string, backup: SnapshotInfo): Promise<boolean> {
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(
      `Replace ${target} (${formatInteger(users)} users) with ${file} (${formatInteger(backup.users)} users)? [y/N] `,
    );
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    prompt.close();
  }
}
