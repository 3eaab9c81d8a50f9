import BetterSqlite3 from 'better-sqlite3';
import { StorageError, type CheckReport } from '../store.js';
import { describeStorageError } from './faults.js';
import { checkIdentity } from './migrate.js';
import { checkDatabaseFile } from './open.js';

const MAX_PROBLEMS = 100;

/**
 * Checks the pages of a usergen database through a read-only connection of its own: nothing is
 * written, and a file too damaged to be read at all is reported as a problem, not thrown.
 * A file that is not a usergen database (or is missing) is refused as when opening it.
 */
export function checkDatabaseInPlace(file: string, kind: CheckReport['kind']): CheckReport {
  const started = performance.now();
  checkDatabaseFile(file);
  let sqlite: BetterSqlite3.Database;
  try {
    sqlite = new BetterSqlite3(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw describeStorageError(error, file);
  }
  try {
    let problems: string[];
    try {
      checkIdentity(sqlite, file);
      const rows = sqlite.pragma(`${kind === 'quick' ? 'quick_check' : 'integrity_check'}(${MAX_PROBLEMS})`, { simple: false }) as Array<
        Record<string, string>
      >;
      problems = rows.map((row) => Object.values(row)[0] ?? '').filter((line) => line !== 'ok');
    } catch (error) {
      const described = describeStorageError(error, file);
      if (!(described instanceof StorageError) || described.fault !== 'damaged') throw described;
      problems = [(error as Error).message];
    }
    return { file, kind, ok: problems.length === 0, problems, duration_ms: Math.round(performance.now() - started) };
  } finally {
    sqlite.close();
  }
}
