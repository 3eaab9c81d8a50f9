import fs from 'node:fs';
import path from 'node:path';
import { countLiveWorkers } from '../queue/live-workers.js';
import {
  currentDatabase,
  inspectBackup,
  printableLocation,
  restoreBackup,
  setAsideDamaged,
  type CurrentDatabase,
  type SetAside,
} from '../store/open.js';
import type { Durability, JobStore } from '../store/store.js';
import { listBackups, replaceBackupRecords } from '../tasks/backup-records.js';
import { damagedFileName, type BackupResult } from '../tasks/backup.js';
import { countUsers } from '../tasks/users.js';
import { backUp } from './backups.js';
import { BackupNotFound, NotConfirmed, WorkersRunning } from './refusals.js';
import { withStore } from './with-store.js';

// `restore`: every decision of replacing a database with a backup. Asking the user and printing
// stay with the caller, through `confirm` and `report`.

/**
 * What is at the database path before a restore: nothing (or an empty file: nothing to lose), a
 * sound database, or a damaged one, which a safety backup cannot copy and must not be written to.
 */
export type { CurrentDatabase };

/** What a restore is about to do, for whoever confirms it. */
export interface RestoreQuestion {
  /** The database, fit to print (a URL without its password). */
  location: string;
  current: CurrentDatabase;
  /** Null when there is no database, or it is too damaged to count them. */
  current_users: number | null;
  /** The backup, an absolute path. */
  backup: string;
  backup_users: number;
}

/**
 * What a restore has done so far, told as it happens: a restore that fails later has still done it.
 * `set-aside`: `renamed` (a PostgreSQL schema), `file` is the damaged schema's new name.
 */
export type RestoreEvent = ({ type: 'set-aside' } & SetAside) | { type: 'safety-backup'; backup: BackupResult };

export interface RestoreOptions {
  /** The backup to restore: a path, or a bare name (as `backups` prints it) looked for in `dir` when not in the working folder. */
  backup: string;
  /** The database to replace (an SQLite file's path, or a postgres:// URL); made if missing. */
  location: string;
  /** PostgreSQL: the schema of usergen's tables (default `usergen`). */
  pgSchema?: string | undefined;
  /** The backup folder: where a bare name is looked for, the safety backup goes, and a damaged database is set aside. */
  dir: string;
  /** Restore even while workers run on the database (their jobs in flight may then be lost or rerun). */
  force?: boolean;
  durability?: Durability | undefined;
  /** Asked once every check has passed and before anything changes; no answer needed when absent. False refuses (NotConfirmed). */
  confirm?: ((question: RestoreQuestion) => Promise<boolean>) | undefined;
  report?: (event: RestoreEvent) => void;
  /** Stops the safety backup's wait (the copy under way finishes). */
  signal?: AbortSignal | undefined;
}

export interface RestoreResult {
  /** The backup restored, an absolute path. */
  backup: string;
  /** The database, fit to print (a URL without its password). */
  location: string;
  /** What the database was before. */
  was: CurrentDatabase;
  /** The backup of the sound database it replaced. */
  safety_backup: BackupResult | null;
  /** Where the damaged database it replaced was copied, as it was (PostgreSQL: the schema it was renamed to). */
  set_aside: { file: string; wal: string | null } | null;
  /** Users in the database now. */
  users: number;
}

/**
 * Checks the backup, refuses while workers run (unless forced), keeps what is there (a safety
 * backup of a sound database, a copy of a damaged one's bytes), replaces the database with the
 * backup, then puts back the backup records the database had.
 */
export async function restore(options: RestoreOptions): Promise<RestoreResult> {
  const { location, dir, durability, pgSchema } = options;
  const printable = printableLocation(location);
  const backup = backupToRestore(options.backup, dir);
  const copy = await inspectBackup(backup, { location, pgSchema });
  const current = await currentDatabase(location, { pgSchema });
  const done = await withStore(location, { durability, create: true, pgSchema }, async (store) => {
    const workers = await readUnlessDamaged(store, current, () => countLiveWorkers(store));
    if ((workers === undefined || workers > 0) && !options.force) throw new WorkersRunning(printable, workers ?? null);
    if (options.confirm) {
      const users = current === 'missing' ? undefined : await readUnlessDamaged(store, current, () => countUsers(store.db));
      const question = { location: printable, current, current_users: users ?? null, backup, backup_users: copy.users };
      if (!(await options.confirm(question))) throw new NotConfirmed('restore');
    }
    let safety: BackupResult | null = null;
    if (current === 'sound') {
      safety = await backUp(store, { dir, keep: null, signal: options.signal });
      options.report?.({ type: 'safety-backup', backup: safety });
    }
    // Read after the safety copy is on record, so it is kept too; and before a damaged schema is
    // renamed away. A new file knows none.
    const records = current === 'missing' ? undefined : await readUnlessDamaged(store, current, () => listBackups(store.db));
    let aside: RestoreResult['set_aside'] = null;
    if (current === 'damaged') {
      // Nothing goes into the damaged database: it is set aside as it is.
      const { renamed, ...where } = await setAsideDamaged(location, path.join(dir, damagedFileName(new Date())), { pgSchema });
      aside = where;
      options.report?.({ type: 'set-aside', renamed, ...where });
    }
    await restoreBackup(backup, location, { pgSchema });
    return { safety, aside, records };
  });
  // Opening applies any migration the backup's older schema needs.
  const users = await withStore(location, { durability, pgSchema }, async (restored) => {
    // The backups that exist are the ones the database knew before, not the copy's older list.
    if (done.records !== undefined) await replaceBackupRecords(restored.db, done.records);
    return countUsers(restored.db);
  });
  return { backup, location: printable, was: current, safety_backup: done.safety, set_aside: done.aside, users };
}

/**
 * `file` as given; but a bare name (as `backups` prints the files in the backup folder) that is
 * not in the working folder is looked for in the backup folder.
 */
function backupToRestore(file: string, dir: string): string {
  if (file.includes('/') || file.includes(path.sep) || fs.existsSync(file)) return path.resolve(file);
  const inDir = path.join(dir, file);
  if (fs.existsSync(inDir)) return inDir;
  throw new BackupNotFound(file, [process.cwd(), dir]);
}

/** `read` from the current file; undefined when the file is damaged and so is what `read` needs. */
async function readUnlessDamaged<T>(store: JobStore, current: CurrentDatabase, read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (error) {
    if (current === 'damaged' && store.faultOf(error) === 'damaged') return undefined;
    throw error;
  }
}
