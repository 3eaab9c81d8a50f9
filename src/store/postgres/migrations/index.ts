import * as createTables from './0001_create_tables.js';
import * as backupsInProgress from './0002_backups_in_progress.js';
import * as createSchedules from './0003_create_schedules.js';
import * as jobWaiters from './0004_job_waiters.js';
import * as createSettings from './0005_create_settings.js';
import * as spentUniqueKeys from './0006_spent_unique_keys.js';
import * as dedupeKeys from './0007_dedupe_keys.js';
import * as taskLimits from './0008_task_limits.js';

// The PostgreSQL schema, in numbered steps like the SQLite file's (../../sqlite/migrations/). Each
// runs in the transaction that holds the schema's advisory lock (../migrate.ts); `s` is the
// schema's quoted name.

/** Every migration, in order. Listed here rather than read from a folder at run time. */
export const MIGRATIONS: Record<string, { up(s: string): string }> = {
  '0001_create_tables': createTables,
  '0002_backups_in_progress': backupsInProgress,
  '0003_create_schedules': createSchedules,
  '0004_job_waiters': jobWaiters,
  '0005_create_settings': createSettings,
  '0006_spent_unique_keys': spentUniqueKeys,
  '0007_dedupe_keys': dedupeKeys,
  '0008_task_limits': taskLimits,
};

/** The schema version once every migration has run (stored in the schema's usergen_schema table). */
export const PG_SCHEMA_VERSION = Object.keys(MIGRATIONS).length;
