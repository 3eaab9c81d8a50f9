import fs from 'node:fs';
import { checkDatabase } from './sqlite/check.js';
import { copyDatabaseFiles, inspectSnapshot, restoreSnapshot } from './sqlite/snapshot.js';
import { UserError } from '../errors.js';
import { isPostgresUrl, printableLocation } from './location.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { BackupCopy, CheckReport, Durability, JobStore } from './store.js';

// What works on a database by where it is, rather than through an open store: opening one, and
// what must not open it (a check through a read-only connection, a restore over it). Each picks
// the engine that `location` names: a postgres:// URL, else an SQLite file's path.

export interface OpenStoreOptions {
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability | undefined;
  /**
   * Make a missing database (an SQLite file that does not exist, or is empty) into a new one;
   * default true. False refuses it: a command that only reads must not leave a new database
   * behind a mistyped `--db`.
   */
  create?: boolean | undefined;
  /** PostgreSQL: the schema that holds usergen's tables (default `usergen`). */
  pgSchema?: string | undefined;
  /** PostgreSQL: connections in the pool (default 10). */
  connections?: number | undefined;
}

/** Opens the job store at `location` (an SQLite file's path, or a postgres:// URL) and brings its schema up to date. */
export async function openStore(location: string, options: OpenStoreOptions = {}): Promise<JobStore> {
  if (isPostgresUrl(location)) {
    // Loaded only for a PostgreSQL database: SQLite users never load pg.
    const { openPgStore } = await import('./postgres/pg-store.js');
    return openPgStore(location, { ...options, schema: options.pgSchema });
  }
  return openSqliteStore(location, options);
}

/** What only an SQLite file can do yet, refused for a PostgreSQL URL with one line. */
function sqliteOnly(location: string, what: string): void {
  if (isPostgresUrl(location)) throw new UserError(`${what} of a PostgreSQL database is not supported yet (${printableLocation(location)})`);
}

/**
 * Checks the database at `location` without opening it for writing (`usergen check`, and before a
 * restore: workers may keep running); a damaged one is reported, not thrown. An open store checks
 * itself with `store.check`.
 */
export async function checkStore(location: string, kind: CheckReport['kind']): Promise<CheckReport> {
  if (isPostgresUrl(location)) {
    const store = await openStore(location, { create: false });
    try {
      return await store.check(kind);
    } finally {
      await store.close();
    }
  }
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
export async function restoreBackup(file: string, location: string): Promise<void> {
  sqliteOnly(location, 'restoring a backup');
  return restoreSnapshot(file, location);
}

/**
 * Copies a damaged database's bytes as they are to `target` (never over an existing file): what
 * is set aside before a restore replaces it. Returns the paths written.
 */
export async function setAsideDamaged(location: string, target: string): Promise<string[]> {
  return copyDatabaseFiles(location, target);
}
