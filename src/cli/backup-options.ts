import path from 'node:path';
import type { Command } from 'commander';
import { defaultBackupDir } from '../tasks/backup.js';
import { databaseFile } from './context.js';
import { parseInteger } from './parse.js';

/** `--dir` and `--keep`, shared by the backup commands. */
export function addBackupOptions(command: Command, withKeep = true): Command {
  command.option('--dir <path>', 'the backup folder (default: backups/ beside the database file; for a PostgreSQL database, ./backups)');
  if (withKeep) command.option('--keep <n>', 'keep the newest n backups in the folder, delete older ones');
  return command;
}

export interface BackupFlags {
  dir?: string;
  keep?: string;
}

export function backupDir(flags: BackupFlags, command: Command): string {
  return flags.dir === undefined ? defaultBackupDir(databaseFile(command)) : path.resolve(flags.dir);
}

export function parseKeep(flags: BackupFlags): number | null {
  return flags.keep === undefined ? null : parseInteger(flags.keep, '--keep', 1, 1_000_000);
}
