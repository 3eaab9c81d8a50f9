import path from 'node:path';
import { UserError } from '../../errors.js';
import type { Engine, LocationOptions } from '../engine.js';
import { isDumpFile } from './dump-file.js';
import { checkSchemaName, DEFAULT_PG_SCHEMA, isPostgresUrl, printableLocation } from './location.js';

// The store and the backups' code, and with them pg, are loaded (import()) only for a PostgreSQL
// database: an SQLite command loads this file and dump-file.ts alone.

function schemaOf(options: LocationOptions): string {
  return checkSchemaName(options.pgSchema ?? DEFAULT_PG_SCHEMA);
}

async function withStore<T>(location: string, options: LocationOptions, work: (store: import('./store.js').PgStore) => Promise<T>): Promise<T> {
  const { openPgStore } = await import('./store.js');
  const store = await openPgStore(location, { create: false, schema: options.pgSchema });
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

/** usergen's tables in a schema of a PostgreSQL database, named by a postgres:// URL. */
export const postgresEngine: Engine = {
  owns: isPostgresUrl,
  printable: printableLocation,
  describe: (location, options) => `${printableLocation(location)} (schema ${schemaOf(options)})`,
  checked: 'every table read through',
  backupExtension: '.dump',
  // A database on a server has no folder of its own: the working folder's.
  defaultBackupDir: () => path.resolve('backups'),
  missingHere: () => false,
  open: async (location, options) => {
    const { openPgStore } = await import('./store.js');
    return openPgStore(location, { ...options, schema: options.pgSchema });
  },
  // A connection of its own, which writes nothing: the server checks its pages as it reads them.
  checkInPlace: (location, kind, options) => withStore(location, options, (store) => store.check(kind)),
  exists: async (location, options) => {
    const { usergenSchemaExists } = await import('./backup.js');
    return usergenSchemaExists(location, schemaOf(options));
  },

  isBackup: isDumpFile,
  backupKind: 'a pg_dump archive of a PostgreSQL database (usergen-<time>.dump)',
  restoredFrom: 'a PostgreSQL database is restored from pg_dump archives (usergen-<time>.dump) only',
  inspectBackup: async (file, options) => {
    const { inspectDump } = await import('./backup.js');
    const { schema, ...copy } = await inspectDump(file);
    if (schema !== schemaOf(options))
      throw new UserError(`${file} is a dump of schema ${schema}, not ${schemaOf(options)}: restore it with --pg-schema ${schema}`);
    return copy;
  },
  restore: async (file, location, options) => {
    const { restoreDump } = await import('./backup.js');
    return restoreDump(file, location, schemaOf(options));
  },
  // The server's pages cannot be copied from here: the damaged schema is renamed instead.
  setAside: async (location, _target, options) => {
    const { setAsideSchema } = await import('./backup.js');
    return { file: await setAsideSchema(location, schemaOf(options)), wal: null, renamed: true };
  },
};
