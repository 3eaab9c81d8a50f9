import type BetterSqlite3 from 'better-sqlite3';
import type { Kysely } from 'kysely';
import { Migrator, sql } from '../kysely.js';
import { UserError } from '../../errors.js';
import { migrationProvider, SCHEMA_VERSION } from './migrations/index.js';
import type { Database } from '../schema.js';

/** `PRAGMA application_id` of every usergen file ("usgn"): tells ours from other SQLite files. */
export const APPLICATION_ID = 0x7573676e;

export type FileIdentity = 'empty' | 'usergen';

/**
 * Reads only: a file that is not ours, or that a newer usergen wrote, is refused before anything
 * (even the switch to WAL, which rewrites the header) touches it.
 */
export function checkIdentity(sqlite: BetterSqlite3.Database, file: string): FileIdentity {
  // One read transaction: read apart, the header and the schema can straddle another process's
  // commit of a new schema (seen: "another application" for a file being created next door).
  if (sqlite.inTransaction) return readIdentity(sqlite, file);
  sqlite.exec('begin');
  try {
    return readIdentity(sqlite, file);
  } finally {
    // A read that failed for the file's sake (disk full, I/O) may have ended the transaction
    // already: a COMMIT then would replace the real error with "no transaction is active".
    if (sqlite.inTransaction) sqlite.exec('commit');
  }
}

function readIdentity(sqlite: BetterSqlite3.Database, file: string): FileIdentity {
  const applicationId = readApplicationId(sqlite, file);
  const version = sqlite.pragma('user_version', { simple: true }) as number;
  if (applicationId === APPLICATION_ID) {
    if (version > SCHEMA_VERSION) {
      throw new UserError(
        `${file} was written by a newer usergen (schema version ${version}, this one knows up to ${SCHEMA_VERSION}); upgrade usergen to open it`,
      );
    }
    return 'usergen';
  }
  const objects = sqlite.prepare('select count(*) from sqlite_master').pluck().get() as number;
  if (applicationId === 0 && objects === 0) return 'empty';
  throw new UserError(`${file} is an SQLite database of another application, not a usergen database`);
}

/**
 * The first read of the file: SQLite, not a read of our own, tells an SQLite file from anything
 * else (see checkDatabaseFile: no other descriptor of the file may be opened and closed).
 */
function readApplicationId(sqlite: BetterSqlite3.Database, file: string): number {
  try {
    return sqlite.pragma('application_id', { simple: true }) as number;
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'SQLITE_NOTADB') throw error;
    throw new UserError(`${file} is not a usergen database (not an SQLite file, or its header is damaged)`);
  }
}

/**
 * Applies pending migrations. kysely's SQLite migrator takes no lock of its own, so the whole run
 * happens inside one BEGIN IMMEDIATE: several processes opening a new file at once queue on the
 * write lock, and each one after the first finds the schema already there.
 */
export async function migrateToLatest(db: Kysely<Database>, sqlite: BetterSqlite3.Database, file: string): Promise<void> {
  if (checkIdentity(sqlite, file) === 'usergen' && sqlite.pragma('user_version', { simple: true }) === SCHEMA_VERSION) {
    return;
  }
  // Foreign keys off while tables are rebuilt (SQLite's own procedure for a table change): dropping
  // a table they point at would otherwise act on every row that points at it. They are checked
  // before the commit instead. The pragma cannot change inside a transaction, hence out here.
  const foreignKeys = sqlite.pragma('foreign_keys', { simple: true }) as number;
  sqlite.pragma('foreign_keys = OFF');
  await sql`begin immediate`.execute(db);
  try {
    checkIdentity(sqlite, file);
    const { error } = await new Migrator({ db, provider: migrationProvider }).migrateToLatest();
    if (error) throw error;
    const broken = sqlite.pragma('foreign_key_check') as unknown[];
    if (broken.length > 0) throw new Error(`migrating ${file} would break ${broken.length} reference(s) between its tables; nothing was changed`);
    await sql.raw(`pragma application_id = ${APPLICATION_ID}`).execute(db);
    await sql.raw(`pragma user_version = ${SCHEMA_VERSION}`).execute(db);
    await sql`commit`.execute(db);
  } catch (error) {
    if (sqlite.inTransaction) await sql`rollback`.execute(db);
    throw error;
  } finally {
    sqlite.pragma(`foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`);
  }
}
