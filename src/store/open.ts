import { UserError } from '../errors.js';
import type { CurrentDatabase, LocationOptions, OpenStoreOptions, SetAside } from './engine.js';
import { ENGINES, engineOf } from './engines.js';
import type { BackupCopy, CheckReport, JobStore } from './store.js';

// What works on a database by where it is: each through the engine its location names.

export type { CurrentDatabase, LocationOptions, OpenStoreOptions, SetAside };
export { checkSchemaName } from './engines.js';

/** Opens the job store at `location` (an SQLite file's path, or a postgres:// URL) and brings its schema up to date. */
export function openStore(location: string, options: OpenStoreOptions = {}): Promise<JobStore> {
  return engineOf(location).open(location, options);
}

/** `location` fit to print: a file's path, a URL without its password. */
export function printableLocation(location: string): string {
  return engineOf(location).printable(location);
}

/** The database as a message names it: printable, and where in it usergen's tables are. */
export function describeLocation(location: string, options: LocationOptions = {}): string {
  return engineOf(location).describe(location, options);
}

/** What a full check of the database at `location` does, as its report says it. */
export function checkedBy(location: string): string {
  return engineOf(location).checked;
}

/** The folder backups of the database at `location` go to unless told. */
export function defaultBackupDir(location: string): string {
  return engineOf(location).defaultBackupDir(location);
}

/** How the names of backups of the database at `location` end. */
export function backupExtension(location: string): string {
  return engineOf(location).backupExtension;
}

/** Whether opening `location` would make a new database there (known without a server only). */
export function missingHere(location: string): boolean {
  return engineOf(location).missingHere(location);
}

/**
 * Checks the database at `location` without opening it for writing (`usergen check`, and before a
 * restore: workers may keep running); a damaged one is reported, not thrown. An open store checks
 * itself with `store.check`.
 */
export function checkStore(location: string, kind: CheckReport['kind'], options: LocationOptions = {}): Promise<CheckReport> {
  return engineOf(location).checkInPlace(location, kind, options);
}

/** What is at `location` before a restore: no database (nothing to lose), a sound one, or a damaged one. */
export async function currentDatabase(location: string, options: LocationOptions = {}): Promise<CurrentDatabase> {
  if (!(await engineOf(location).exists(location, options))) return 'missing';
  return (await checkStore(location, 'quick', options)).ok ? 'sound' : 'damaged';
}

/** The database a backup is to be restored into. */
export interface RestoreTarget extends LocationOptions {
  location: string;
}

/**
 * Checks that the backup `file` is sound and one this version can restore (into `target`, when
 * given: only into a database of its own engine); what it holds. Which engine's backup it is,
 * its content says, not its name.
 */
export async function inspectBackup(file: string, target?: RestoreTarget): Promise<BackupCopy> {
  const into = target === undefined ? undefined : engineOf(target.location);
  // A file no engine recognises is for the target's (or the last engine) to refuse in its own words.
  const of = ENGINES.find((engine) => engine.isBackup(file)) ?? into ?? ENGINES.at(-1)!;
  if (into !== undefined && of !== into) throw new UserError(`${file} is ${of.backupKind}: ${into.restoredFrom}`);
  return of.inspectBackup(file, target ?? {});
}

/** Replaces the content of the database at `location` with the backup `file`, in one transaction. */
export function restoreBackup(file: string, location: string, options: LocationOptions = {}): Promise<void> {
  return engineOf(location).restore(file, location, options);
}

/**
 * Keeps a damaged database as it is before a restore replaces it, and says where: an SQLite file's
 * bytes are copied to `target` (never over an existing file), a PostgreSQL schema is renamed, as
 * neither can be backed up.
 */
export function setAsideDamaged(location: string, target: string, options: LocationOptions = {}): Promise<SetAside> {
  return engineOf(location).setAside(location, target, options);
}
