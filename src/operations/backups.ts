import fs from 'node:fs';
import path from 'node:path';
import { listBackups } from '../tasks/backup-records.js';
import type { JobStore } from '../store/store.js';
import { backupFiles, timeOfBackupFileName } from '../tasks/backup.js';
import { iso } from './job-view.js';

export interface BackupEntry {
  file: string;
  created_at: string;
  size_bytes: number;
  /** Null for a file found on disk with no record. */
  users: number | null;
  verified: boolean;
  recorded: boolean;
  on_disk: boolean;
}

export interface BackupListingOptions {
  /** The backup folder, an absolute path: its files are listed whether on record or not. */
  dir: string;
  /** Of the records, only those of files in `dir` (`--dir` names one folder); otherwise every folder's. */
  onlyDir: boolean;
}

export interface BackupListing {
  dir: string;
  /** Newest first. */
  backups: BackupEntry[];
}

/** The backups on record and the backup files in the folder, newest first. */
export async function backupListing(store: JobStore, options: BackupListingOptions): Promise<BackupListing> {
  const { dir, onlyDir } = options;
  const listing = new Map<string, BackupEntry>();
  for (const row of await listBackups(store.db)) {
    if (onlyDir && path.dirname(row.file) !== dir) continue;
    listing.set(row.file, {
      file: row.file,
      created_at: iso(row.created_at),
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
  return { dir, backups: [...listing.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)) };
}
