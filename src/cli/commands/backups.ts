import path from 'node:path';
import type { Command } from 'commander';
import { backupListing, type BackupEntry } from '../../operations/backups.js';
import { addBackupOptions, backupDir, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase } from '../context.js';
import { formatBytes, formatInteger, formatTime, printJson, printLine, renderTable } from '../output.js';

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
      const listing = await withCommandDatabase(command, (store) => backupListing(store, { dir, onlyDir: flags.dir !== undefined }));
      if (flags.json) printJson(listing);
      else await printBackups(listing.backups, dir, flags.wide === true);
    });
}

async function printBackups(backups: BackupEntry[], dir: string, wide: boolean): Promise<void> {
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
  // Too wide: the time goes first (a backup's name carries it), then the name is cut, the users dropped.
  printLine(await renderTable(head, rows, { dropFirst: [1], shrinkable: [0], droppable: [3], wide }));
}
