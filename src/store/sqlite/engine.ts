import fs from 'node:fs';
import path from 'node:path';
import type { Engine } from '../engine.js';
import { readHead } from '../file-head.js';
import { checkDatabaseInPlace } from './check.js';
import { openSqliteStore } from './store.js';
import { copyDatabaseFiles, inspectSnapshot, restoreSnapshot } from './backup.js';

/** What every SQLite database file begins with. */
const HEADER = 'SQLite format 3\0';

/** A usergen database in one SQLite file, named by its path. */
export const sqliteEngine: Engine = {
  owns: () => true,
  printable: (location) => location,
  describe: (location) => location,
  checked: 'integrity_check ok',
  backupExtension: '.db',
  // Beside the database file.
  defaultBackupDir: (location) => path.join(path.dirname(path.resolve(location)), 'backups'),
  missingHere: (location) => !fs.existsSync(location),
  open: (location, options) => openSqliteStore(location, options),
  checkInPlace: async (location, kind) => checkDatabaseInPlace(location, kind),
  // An empty file is what a database being created looks like: nothing in it to keep.
  exists: async (location) => fs.existsSync(location) && !(fs.statSync(location).isFile() && fs.statSync(location).size === 0),

  // A backup file is never a database some process of this one has open: reading its header here drops no lock.
  isBackup: (file) => readHead(file, HEADER.length) === HEADER,
  backupKind: 'an SQLite copy of a usergen database (usergen-<time>.db)',
  restoredFrom: 'an SQLite file is restored from SQLite copies (usergen-<time>.db) only',
  inspectBackup: async (file) => inspectSnapshot(file),
  restore: (file, location) => restoreSnapshot(file, location),
  setAside: async (location, target) => {
    const [file, wal] = copyDatabaseFiles(location, target);
    return { file: file!, wal: wal ?? null, renamed: false };
  },
};
