import fs from 'node:fs';
import { checkDatabase } from './sqlite/check.js';
import { copyDatabaseFiles, inspectSnapshot, restoreSnapshot } from './sqlite/snapshot.js';
import { UserError } from '../errors.js';
import { checkSchemaName, DEFAULT_PG_SCHEMA, isPostgresUrl } from './location.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { BackupCopy, CheckReport, Durability, JobStore } from './store.js';

// What works on a database by where it is, rather than through an open store: opening one, and
// what must not open it (a check through a read-only connection, a restore over it). Each picks
// the engine that `location` names: a postgres:// URL, else an SQLite file's path.

/** Where usergen's tables are in a PostgreSQL database: the schema (`usergen` unless told). */
export interface PgSchemaOption {
  pgSchema?: string | undefined;
}

export interface OpenStoreOptions extends PgSchemaOption {
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability | undefined;
  /**
   * Make a missing database (an SQLite file that does not exist, or is empty) into a new one;
   * default true. False refuses it: a command that only reads must not leave a new database
   * behind a mistyped `--db`.
   */
  create?: boolean | undefined;
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

function schemaOf(options: PgSchemaOption): string {
  return checkSchemaName(options.pgSchema ?? DEFAULT_PG_SCHEMA);
}

/**
 * Checks the database at `location` without opening it for writing (`usergen check`, and before a
 * restore: workers may keep running); a damaged one is reported, not thrown. An open store checks
 * itself with `store.check`.
 */
export async function checkStore(location: string, kind: CheckReport['kind'], options: PgSchemaOption = {}): Promise<CheckReport> {
  if (isPostgresUrl(location)) {
    const store = await openStore(location, { create: false, pgSchema: options.pgSchema });
    try {
      return await store.check(kind);
    } finally {
      await store.close();
    }
  }
  return checkDatabase(location, kind);
}

/** What is at `location` before a restore: no database (nothing to lose), a sound one, or a damaged one. */
export async function currentDatabase(location: string, options: PgSchemaOption = {}): Promise<'missing' | 'sound' | 'damaged'> {
  if (isPostgresUrl(location)) {
    const { usergenSchemaExists } = await import('./postgres/backup.js');
    if (!(await usergenSchemaExists(location, schemaOf(options)))) return 'missing';
  } else if (!fs.existsSync(location) || (fs.statSync(location).isFile() && fs.statSync(location).size === 0)) {
    // An empty file is what a database being created looks like: nothing in it to keep.
    return 'missing';
  }
  return (await checkStore(location, 'quick', options)).ok ? 'sound' : 'damaged';
}

/** The database a backup is to be restored into. */
export interface RestoreTarget extends PgSchemaOption {
  location: string;
}

/**
 * Checks that the backup `file` is sound and one this version can restore (into `target`, when
 * given: a pg_dump archive onto a PostgreSQL schema of its name, an SQLite copy onto a file); what
 * it holds. Which kind of backup it is, its content says, not its name.
 */
export async function inspectBackup(file: string, target?: RestoreTarget): Promise<BackupCopy> {
  const { inspectDump, isDumpFile } = await import('./postgres/backup.js');
  const ontoPostgres = target !== undefined && isPostgresUrl(target.location);
  if (!isDumpFile(file)) {
    if (ontoPostgres && fs.existsSync(file)) {
      throw new UserError(`${file} is not a pg_dump archive (usergen-<time>.dump): a PostgreSQL database is restored from those only`);
    }
    return inspectSnapshot(file);
  }
  if (target !== undefined && !ontoPostgres) {
    throw new UserError(`${file} is a pg_dump archive of a PostgreSQL database: restore it onto one (--db postgres://...), not onto an SQLite file`);
  }
  const { schema, ...copy } = await inspectDump(file);
  if (target !== undefined && schema !== schemaOf(target)) {
    throw new UserError(`${file} is a dump of schema ${schema}, not ${schemaOf(target)}: restore it with --pg-schema ${schema}`);
  }
  return copy;
}

/** Replaces the content of the database at `location` with the backup `file`, in one transaction. */
export async function restoreBackup(file: string, location: string, options: PgSchemaOption = {}): Promise<void> {
  if (isPostgresUrl(location)) {
    const { restoreDump } = await import('./postgres/backup.js');
    return restoreDump(file, location, schemaOf(options));
  }
  return restoreSnapshot(file, location);
}

/**
 * Keeps a damaged database as it is before a restore replaces it, and returns where: an SQLite
 * file's bytes are copied to `target` (never over an existing file; the paths written), a
 * PostgreSQL schema is renamed (its new name), as neither can be backed up.
 */
export async function setAsideDamaged(location: string, target: string, options: PgSchemaOption = {}): Promise<string[]> {
  if (isPostgresUrl(location)) {
    const { setAsideSchema } = await import('./postgres/backup.js');
    return [await setAsideSchema(location, schemaOf(options))];
  }
  return copyDatabaseFiles(location, target);
}
