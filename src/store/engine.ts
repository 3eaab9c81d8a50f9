import type { BackupCopy, CheckReport, Durability, JobStore } from './store.js';

// What is done to a database by where it is, rather than through an open store: opening it, and
// what must not open it for writing (a check while workers run, a restore over it). Each engine
// describes itself once (sqlite/engine.ts, postgres/engine.ts), and engines.ts picks the one a
// location names: nothing else asks which engine it has.

/** Options that name where usergen's tables are within a database, for the engines that need one. */
export interface LocationOptions {
  /** PostgreSQL: the schema of usergen's tables (`usergen` unless told). */
  pgSchema?: string | undefined;
}

export interface OpenStoreOptions extends LocationOptions {
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability | undefined;
  /**
   * Make a missing database (an SQLite file that does not exist, or is empty; a schema that does
   * not exist) into a new one; default true. False refuses it: a command that only reads must
   * not leave a new database behind a mistyped `--db`.
   */
  create?: boolean | undefined;
  /** PostgreSQL: connections in the pool (default 10). */
  connections?: number | undefined;
}

/** What is at a location before a restore: no database (nothing to lose), a sound one, or a damaged one. */
export type CurrentDatabase = 'missing' | 'sound' | 'damaged';

/** Where a damaged database was kept: copies of its files, or (`renamed`) its new name. */
export interface SetAside {
  file: string;
  wal: string | null;
  renamed: boolean;
}

export interface Engine {
  /** Whether `location` is one of this engine's (the last engine takes whatever the others do not). */
  owns(location: string): boolean;
  /** `location` fit to print: never a password. */
  printable(location: string): string;
  /** The database as a message names it: `printable`, and where in it usergen's tables are. */
  describe(location: string, options: LocationOptions): string;
  /** What a check of the whole database does, as its report says it: `integrity_check ok`. */
  readonly checked: string;
  /** How its backups' names end: `.db`. */
  readonly backupExtension: string;
  /** The backup folder when none is given. */
  defaultBackupDir(location: string): string;
  /** Whether opening `location` would make a new database there: it cannot know (false) without asking a server. */
  missingHere(location: string): boolean;
  open(location: string, options: OpenStoreOptions): Promise<JobStore>;
  /** Checks the database without opening it for writing; damage is reported, not thrown. */
  checkInPlace(location: string, kind: CheckReport['kind'], options: LocationOptions): Promise<CheckReport>;
  /** Whether there is a usergen database at `location` at all (an empty file is none). */
  exists(location: string, options: LocationOptions): Promise<boolean>;

  /** Whether `file` is one of this engine's backups, by its content. */
  isBackup(file: string): boolean;
  /** What one of its backups is, as a refusal names it: `a pg_dump archive of a PostgreSQL database`. */
  readonly backupKind: string;
  /** Why another engine's backup cannot be restored into it: `an SQLite file is restored from ...`. */
  readonly restoredFrom: string;
  /** Checks that `file` is a sound backup this version can restore into `options`' place; what it holds. */
  inspectBackup(file: string, options: LocationOptions): Promise<BackupCopy>;
  /** Replaces the database's content with the backup `file`, in one transaction. */
  restore(file: string, location: string, options: LocationOptions): Promise<void>;
  /** Keeps a damaged database as it is before a restore replaces it; `target` names a copy's file. */
  setAside(location: string, target: string, options: LocationOptions): Promise<SetAside>;
}
