import fs from 'node:fs';
import path from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { listBackups } from '../../db/backups.js';
import type { Database } from '../../db/schema.js';
import { backupFiles, timeOfBackupFileName } from '../../tasks/backup.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase } from '../context.js';
import { formatBytes, formatInteger, formatTime, printJson, printLine, renderTable, terminalWidth } from '../output.js';

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

/**
 * The backups on record and the backup files in `dir`, newest first. `onlyDir`: of the records,
 * only those of files in `dir` (`--dir` names one folder); otherwise every folder's.
 */
export async function backupListing(db: Kysely<Database>, dir: string, onlyDir: boolean): Promise<BackupListing[]> {
  const listing = new Map<string, BackupListing>();
  for (const row of await listBackups(db)) {
    if (onlyDir && path.dirname(row.file) !== dir) continue;
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

interface Flags extends BackupFlags {
  json?: boolean;
  wide?: boolean;
}

export function register(program: Command): void {
  addBackupOptions(program.command('backups').description('list the backups on record and on disk, newest first'), false)
    .option('--json', 'print the list as JSON')
    .option('--wide', 'every column and full file paths, however wide the terminal')
    .action(async (flags: Flags, command: Command) => {
      const dir = backupDir(flags, command);
      const backups = await withCommandDatabase(command, (db) => backupListing(db, dir, flags.dir !== undefined));
      if (flags.json) printJson({ dir, backups });
      else await printBackups(backups, dir, flags.wide === true);
    });
}

async function printBackups(backups: BackupListing[], dir: string, wide: boolean): Promise<void> {
  if (backups.length === 0) {
    printLine(`No backups yet in ${dir}. Make one with: usergen backup`);
    return;
  }
  printLine(`Backup folder: ${dir}`);
  const head = ['File', 'Time (UTC)', 'Size', 'Users', 'Verified'];
  const rows = backups.map((backup) => [
    // The folder is printed above: a file in it goes by its name, which is what restore needs.
    wide || path.dirname(backup.file) !== dir ? backup.file : path.basename(backup.file),
    formatTime(backup.created_at),
    backup.on_disk ? formatBytes(backup.size_bytes) : 'missing',
    backup.users === null ? '-' : formatInteger(backup.users),
    backup.recorded ? (backup.verified ? 'yes' : 'no') : 'not on record',
  ]);
  const width = wide ? undefined : terminalWidth();
  const table = await renderTable(head, rows, { wide: true });
  if (width === undefined || widestLine(table) <= width) {
    printLine(table);
    return;
  }
  // Too wide: the time goes first (a backup's name carries it), then the name is cut, the users dropped.
  const withoutTime = (row: string[]) => row.filter((_, i) => i !== 1);
  printLine(await renderTable(withoutTime(head), rows.map(withoutTime), { shrinkable: [0], droppable: [2], width }));
}

function widestLine(text: string): number {
  return Math.max(...stripVTControlCharacters(text).split('\n').map((line) => line.length));
}
