import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { listBackups } from '../../db/backups.js';
import type { Database } from '../../db/schema.js';
import { backupFiles, timeOfBackupFileName } from '../../tasks/backup.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase } from '../context.js';
import { formatBytes, formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';

export interface BackupListing {
  file: string;
  created_at: string;
  size_bytes: number;
  /** Null for a file found on disk with no record. */
  users: number | null;
  verified: boolean;
  recorded: boolean;
  on_disk: boolean;
}

/** The backups on record and the backup files in `dir`, newest first. */
export async function backupListing(db: Kysely<Database>, dir: string): Promise<BackupListing[]> {
  const listing = new Map<string, BackupListing>();
  for (const row of await listBackups(db)) {
    listing.set(row.file, {
      file: row.file,
      created_at: new Date(row.created_at).toISOString(),
      size_bytes: row.size_bytes,
      users: row.users,
      verified: row.verified === 1,
      recorded: true,
      on_disk: fs.existsSync(row.file),
    });
  }
  for (const file of backupFiles(dir)) {
    if (listing.has(file)) continue;
    listing.set(file, {
      file,
      created_at: timeOfBackupFileName(path.basename(file)),
      size_bytes: fs.statSync(file).size,
      users: null,
      verified: false,
      recorded: false,
      on_disk: true,
    });
  }
  return [...listing.values()].sort((a, b) => b.created_at.localeCompare(a.created_at));
}

export function register(program: Command): void {
  addBackupOptions(program.command('backups').description('list the backups on record and on disk, newest first'), false)
    .option('--json', 'print the list as JSON')
    .action(async (flags: BackupFlags & { json?: boolean }, command: Command) => {
      const dir = backupDir(flags, command);
      const backups = await withCommandDatabase(command, (db) => backupListing(db, dir));
      if (flags.json) printJson({ dir, backups });
      else await printBackups(backups, dir);
    });
}

async function printBackups(backups: BackupListing[], dir: string): Promise<void> {
  if (backups.length === 0) {
    printLine(`No backups yet in ${dir}. Make one with: usergen backup`);
    return;
  }
  const rows = backups.map((backup) => [
    backup.file,
    formatTime(backup.created_at),
    backup.on_disk ? formatBytes(backup.size_bytes) : 'missing',
    backup.users === null ? '-' : formatInteger(backup.users),
    backup.recorded ? (backup.verified ? 'yes' : 'no') : 'not on record',
  ]);
  printLine(await renderTable(['File', 'Time (UTC)', 'Size', 'Users', 'Verified'], rows));
}
