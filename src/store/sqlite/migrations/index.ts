import type { Migration, MigrationProvider } from 'kysely';
import * as createJobs from './0001_create_jobs.js';
import * as createUsers from './0002_create_users.js';
import * as createBackups from './0003_create_backups.js';
import * as workerIdentity from './0004_worker_identity.js';
import * as workerTasks from './0005_worker_tasks.js';
import * as readyJobsByTask from './0006_ready_jobs_by_task.js';
import * as jobsWithoutAutoincrement from './0007_jobs_without_autoincrement.js';
import * as createSchedules from './0008_create_schedules.js';
import * as createSettings from './0009_create_settings.js';
import * as spentUniqueKeys from './0010_spent_unique_keys.js';
import * as dedupeKeys from './0011_dedupe_keys.js';
import * as taskLimits from './0012_task_limits.js';

/** Every migration, in order. Listed here rather than read from a folder at run time. */
export const MIGRATIONS: Record<string, Migration> = {
  '0001_create_jobs': createJobs,
  '0002_create_users': createUsers,
  '0003_create_backups': createBackups,
  '0004_worker_identity': workerIdentity,
  '0005_worker_tasks': workerTasks,
  '0006_ready_jobs_by_task': readyJobsByTask,
  '0007_jobs_without_autoincrement': jobsWithoutAutoincrement,
  '0008_create_schedules': createSchedules,
  '0009_create_settings': createSettings,
  '0010_spent_unique_keys': spentUniqueKeys,
  '0011_dedupe_keys': dedupeKeys,
  '0012_task_limits': taskLimits,
};

/** The schema version a file is at once every migration has run (stored in `PRAGMA user_version`). */
export const SCHEMA_VERSION = Object.keys(MIGRATIONS).length;

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};
