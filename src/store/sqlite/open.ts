import fs from 'node:fs';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { Kysely } from '../kysely.js';
import { UserError } from '../../errors.js';
import { ImmediateSqliteDialect, type ImmediateSqliteDriver } from './driver.js';
import { describeStorageError, whyReadOnly } from './faults.js';
import { checkIdentity, migrateToLatest } from './migrate.js';
import type { Database } from '../schema.js';
import type { Durability } from '../store.js';

export interface OpenOptions {
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability | undefined;
  busyTimeoutMs?: number | undefined;
  /**
   * Make a missing (or empty) file into a new database; default true. False refuses both: a
   * command that only reads must not leave a new database behind a mistyped `--db`.
   */
  create?: boolean | undefined;
}

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;

export interface OpenedDatabase {
  db: Kysely<Database>;
  driver: ImmediateSqliteDriver;
  /** Its absolute path. */
  file: string;
  durability: Durability;
}

/**
 * Opens (creating it, mode 0600, if missing) a usergen database and brings its schema up to date.
 * A file that is not a usergen database, or that this process could not write, is refused with a
 * UserError before any byte of it changes.
 */
export async function openDatabase(file: string, options: OpenOptions = {}): Promise<OpenedDatabase> {
  checkFile(file, options.create ?? true);
  if (fs.existsSync(`${file}-wal`)) checkIdentityReadOnly(file);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(file);
  } catch (error) {
    throw describeOpenError(error, file);
  }
  try {
    sqlite.pragma(`busy_timeout = ${options.busyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS}`);
    checkIdentity(sqlite, file);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma(`synchronous = ${options.durability === 'normal' ? 'NORMAL' : 'FULL'}`);
    sqlite.pragma('foreign_keys = ON');
    const dialect = new ImmediateSqliteDialect(sqlite);
    const db = new Kysely<Database>({ dialect });
    await migrateToLatest(db, sqlite, file);
    return { db, driver: dialect.driver, file: path.resolve(file), durability: options.durability ?? 'full' };
  } catch (error) {
    sqlite.close();
    throw describeOpenError(error, file);
  }
}

function checkFile(file: string, create: boolean): void {
  if (create && !fs.existsSync(file)) {
    createFile(file);
    return;
  }
  // An empty file is a new database only while it is being created (by this process or one
  // opening it at the same moment): a command that only reads does not adopt it.
  const stat = checkDatabaseFile(file, create);
  if ((stat.mode & 0o222) === 0 || !canWrite(file)) {
    throw new UserError(`cannot write ${file}: ${whyReadOnly(file)}; usergen needs to write to its database`);
  }
}

/**
 * Refuses, with one line, what cannot be a usergen database: no file, a folder, or (unless
 * `allowEmpty`) an empty file. Reads only the file's metadata: whether its content is SQLite's,
 * SQLite says (checkIdentity).
 *
 * THE FILE MUST NEVER BE OPENED HERE, NOR ANYWHERE ELSE BUT THROUGH SQLITE. POSIX locks belong to
 * the process: any close() of any descriptor of the file drops every lock this process's
 * connections hold on it. Another process closing its connection then believes it is the last,
 * checkpoints and deletes the -wal and -shm files, and this process's commits go on into a deleted
 * WAL that nobody else sees (SQLite's "How To Corrupt An SQLite Database File", 2.2). SQLite itself
 * defers such a close until no connection of the process holds a lock.
 */
export function checkDatabaseFile(file: string, allowEmpty = false): fs.Stats {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw describeOpenError(error, file);
    throw new UserError(`no usergen database at ${file} (check --db or $USERGEN_DB; "usergen generate" creates one)`);
  }
  if (stat.isDirectory()) throw new UserError(`${file} is a directory, not a database file`);
  if (!stat.isFile()) throw new UserError(`${file} is not a regular file`);
  if (stat.size === 0 && !allowEmpty) {
    throw new UserError(`${file} is an empty file, not a usergen database (check --db or $USERGEN_DB)`);
  }
  return stat;
}

/**
 * A file with a WAL beside it (its last writer crashed) is checked through a read-only connection
 * first: closing a read-write one would checkpoint that WAL into the file, changing a file that
 * may then be refused. Without a WAL this step is skipped, as a read-only open would leave an
 * empty WAL and shared-memory file behind.
 */
function checkIdentityReadOnly(file: string): void {
  let reader: BetterSqlite3.Database | undefined;
  try {
    reader = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
    checkIdentity(reader, file);
  } catch (error) {
    throw describeOpenError(error, file);
  } finally {
    reader?.close();
  }
}

function createFile(file: string): void {
  const dir = path.dirname(path.resolve(file));
  if (!fs.existsSync(dir)) throw new UserError(`cannot create ${file}: folder ${dir} does not exist`);
  try {
    // O_EXCL: only ever a file nobody had, so no connection of this process can hold a lock on it.
    fs.closeSync(fs.openSync(file, 'wx', 0o600));
  } catch (error) {
    // Another process created it first: fine, it is opened as an existing file.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw describeOpenError(error, file);
  }
}

/** Whether this process may write to `file` (a file or a folder). */
export function canWrite(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

function describeOpenError(error: unknown, file: string): Error {
  if (error instanceof UserError) return error;
  const code = (error as { code?: string }).code;
  const message = (error as Error).message;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new UserError(`cannot write ${file}: ${message}`);
    case 'SQLITE_CANTOPEN':
      return new UserError(`cannot open ${file}: ${message}`);
    default:
      return describeStorageError(error, file);
  }
}
