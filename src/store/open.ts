import { checkDatabase } from './sqlite/check.js';
import { copyDatabaseFiles, inspectSnapshot, restoreSnapshot } from './sqlite/snapshot.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { BackupCopy, CheckReport, Durability, JobStore } from './store.js';

// What works on a database by where it is, rather than through an open store: opening one, and
// what must not open it (a check through a read-only connection, a restore over it). Each picks
// the engine that `location` names; an SQLite file is the only one so far.

export interface OpenStoreOptions {
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability | undefined;
  /**
   * Make a missing database (an SQLite file that does not exist, or is empty) into a new one;
   * default true. False refuses it: a command that only reads must not leave a new database
   * behind a mistyped `--db`.
   */
  create?: boolean | undefined;
}

/** Opens the job store at `location` (an SQLite file's path) and brings its schema up to date. */
export function openStore(location: string, options: OpenStoreOptions = {}): Promise<JobStore> {
  return openSqliteStore(location, options);
}

/** Checks the database at `location` without opening it for writing; a damaged one is reported, not thrown. */
export function checkStore(location: string, kind: CheckReport['kind']): CheckReport {
  return checkDatabase(location, kind);
}

/** Checks that the backup `file` is sound and one this version can restore; what it holds. */
export function inspectBackup(file: string): BackupCopy {
  return inspectSnapshot(file);
}

/** Replaces the content of the database at `location` with the backup `file`, in one transaction. */
export function restoreBackup(file: string, location: string): Promise<void> {
  return restoreSnapshot(file, location);
}

/**
 * Copies a damaged database's bytes as they are to `target` (never over an existing file): what
 * is set aside before a restore replaces it. Returns the paths written.
 */
export function setAsideDamaged(location: string, target: string): string[] {
  return copyDatabaseFiles(location, target);
}
