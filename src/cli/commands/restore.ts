import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { restore, type RestoreEvent, type RestoreQuestion } from '../../operations/restore.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { databaseFile, durabilityOption, pgSchemaOption, type CliContext } from '../context.js';
import { formatInteger, printLine } from '../output.js';
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
      .argument('<file>', 'the backup file to restore (a bare name, as "usergen backups" prints it, is looked for in the backup folder)'),
    false,
  )
    .option('--yes', 'do not ask for confirmation')
    .option('--force', 'restore even while a worker is running (its jobs in flight may then be lost or rerun)')
    .action(async (file: string, flags: Flags, command: Command) => {
      const durability = durabilityOption(command);
      const pgSchema = pgSchemaOption(command);
      if (!flags.yes && !process.stdin.isTTY) {
        throw new UsageError('restore replaces the whole database: pass --yes to confirm');
      }
      const location = databaseFile(command);
      const result = await restore({
        backup: file,
        location,
        pgSchema,
        dir: backupDir(flags, command),
        force: flags.force === true,
        durability,
        confirm: flags.yes ? undefined : ask,
        report: printEvent,
        signal: context.shutdownSignal(),
      });
      printLine(`Restored ${result.backup} into ${result.location}: ${formatInteger(result.users)} users.`);
    });
}

function printEvent(event: RestoreEvent): void {
  switch (event.type) {
    case 'set-aside':
      if (event.renamed) {
        return printLine(
          `Current schema is damaged: renamed it to ${event.file}, as it was (not a backup: drop it once done with it, with drop schema ${event.file} cascade)`,
        );
      }
      return printLine(
        `Current database is damaged: copied it${event.wal === null ? '' : ' and its WAL'} to ${event.file} (not a backup: the backup list and --keep leave it alone)`,
      );
    case 'safety-backup':
      return printLine(`Current database backed up to ${describeBackup(event.backup)}`);
  }
}

/** The y/N question on the terminal (stderr, so stdout stays the command's output). */
async function ask(question: RestoreQuestion): Promise<boolean> {
  const { location, current, current_users: users, backup, backup_users } = question;
  const text =
    current === 'missing'
      ? `Create ${location} from ${backup} (${formatInteger(backup_users)} users)? [y/N] `
      : `Replace ${location} (${current === 'damaged' ? 'damaged, ' : ''}${users === null ? '?' : formatInteger(users)} users) with ${backup} (${formatInteger(backup_users)} users)? [y/N] `;
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await prompt.question(text)).trim());
  } finally {
    prompt.close();
  }
}
