import type { Command } from 'commander';
import { backUp, type BackupResult } from '../../operations/backups.js';
import { addBackupOptions, backupDir, parseKeep, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase, type CliContext } from '../context.js';
import { formatBytes, formatInteger, printJson, printLine } from '../output.js';

export function describeBackup(result: BackupResult): string {
  return `${result.file} (${formatBytes(result.size_bytes)}, ${formatInteger(result.users)} users, ${formatInteger(result.jobs)} jobs, ${result.duration_ms} ms)`;
}

/** What a backup deleted: older backups beyond --keep, temporary files of killed backups. */
export function printBackupDeletions(result: BackupResult): void {
  for (const file of result.pruned) printLine(`Deleted old backup ${file}`);
  for (const file of result.abandoned ?? []) printLine(`Deleted ${file}, left by a killed backup`);
}

export function register(program: Command, context: CliContext): void {
  addBackupOptions(
    program
      .command('backup')
      .description('back the database up now: a consistent copy, checked, named usergen-<UTC time>.db (.dump, by pg_dump, for PostgreSQL)'),
  )
    .option('--json', 'print the result as JSON')
    .action(async (flags: BackupFlags & { json?: boolean }, command: Command) => {
      const options = { dir: backupDir(flags, command), keep: parseKeep(flags), signal: context.shutdownSignal() };
      const result = await withCommandDatabase(command, (store) => backUp(store, options));
      if (flags.json) {
        printJson(result);
        return;
      }
      printLine(`Backup written: ${describeBackup(result)}`);
      printBackupDeletions(result);
    });
}
