import fs from 'node:fs';
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

/**
 * Checks the database at `location` without opening it for writing (`usergen check`, and before a
 * restore: workers may keep running); a damaged one is reported, not thrown. An open store checks
 * itself with `store.check`.
 */
export async function checkStore(location: string, kind: CheckReport['kind']): Promise<CheckReport> {
  return checkDatabase(location, kind);
}

/** What is at `location` before a restore: no database (nothing to lose), a sound one, or a damaged one. */
export async function currentDatabase(location: string): Promise<'missing' | 'sound' | 'damaged'> {
  // An empty file is what a database being created looks like: nothing in it to keep.
  if (!fs.existsSync(location) || (fs.statSync(location).isFile() && fs.statSync(location).size === 0)) return 'missing';
  return (await checkStore(location, 'quick')).ok ? 'sound' : 'damaged';
}

/** Checks that the backup `file` is sound and one this version can restore; what it holds. */
export async function inspectBackup(file: string): Promise<BackupCopy> {
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
export async function setAsideDamaged(location: string, target: string): Promise<string[]> {
  return copyDatabaseFiles(location, target);
}
