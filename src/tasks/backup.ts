import fs from 'node:fs';
import path from 'node:path';
import { PermanentJobError } from '../queue/errors.js';
import { defineTask, type TaskDefinition } from '../queue/task.js';
import { backupExtension } from '../store/open.js';
import { MissingProgram } from '../store/programs.js';
import type { JobStore } from '../store/store.js';
import { forgetBackups, recordBackup } from './backup-records.js';

export interface BackupPayload {
  /** Absolute path of the folder the backup goes to. */
  dir: string;
  /** Keep this many backups in `dir`, deleting the oldest beyond it; null keeps all. */
  keep: number | null;
}

export interface BackupResult {
  file: string;
  size_bytes: number;
  users: number;
  jobs: number;
  duration_ms: number;
  /** Older backups deleted by `keep`. */
  pruned: string[];
  /** Temporary files left in the folder by backups whose process was killed, deleted. */
  abandoned?: string[];
}

/** `.db` for an SQLite copy, `.dump` for a pg_dump archive. */
const BACKUP_NAME = /^usergen-(\d{4}-\d\d-\d\d)T(\d\d)-(\d\d)-(\d\d)-(\d{3})Z\.(?:db|dump)$/;

/**
 * `usergen-2026-11-24T13-00-00-000Z.db` (`.dump` for a PostgreSQL database's): UTC, sorts by
 * time, no characters filesystems dislike.
 */
function backupFileName(time: Date, extension: string): string {
  return `usergen-${time.toISOString().replace(/[:.]/g, '-')}${extension}`;
}

/**
 * `usergen-2026-11-24T13-00-00-000Z-damaged.db`: a damaged database set aside by restore, kept
 * beside the backups for whoever wants to look at it. Not a backup's name: `--keep` and the
 * listing leave it alone.
 */
export function damagedFileName(time: Date): string {
  return backupFileName(time, '-damaged.db');
}

export function isBackupFileName(name: string): boolean {
  return BACKUP_NAME.test(name);
}

/** The time in a backup's file name: `usergen-2026-11-24T13-00-00-000Z.db` -> `2026-11-24T13:00:00.000Z`. */
export function timeOfBackupFileName(name: string): string {
  const [, date, hours, minutes, seconds, ms] = BACKUP_NAME.exec(name)!;
  return `${date}T${hours}:${minutes}:${seconds}.${ms}Z`;
}

export { defaultBackupDir } from '../store/open.js';

export function parseBackupPayload(value: unknown): BackupPayload {
  if (typeof value !== 'object' || value === null) throw new Error('the payload must be an object like {"dir": "/backups"}');
  const { dir, keep = null } = value as Record<string, unknown>;
  if (typeof dir !== 'string' || !path.isAbsolute(dir)) throw new Error(`dir must be an absolute path, got ${JSON.stringify(dir)}`);
  if (keep !== null && !(typeof keep === 'number' && Number.isInteger(keep) && keep >= 1)) {
    throw new Error(`keep must be an integer of at least 1, got ${JSON.stringify(keep)}`);
  }
  return { dir, keep };
}

/** A consistent copy of the database the worker runs on, recorded in the backups table. */
export const BACKUP_TASK = 'backup';

/** The backup task of the database `store` holds: its definition, for the workers on that database and for enqueueing. */
export function backupTask(store: JobStore): TaskDefinition<BackupPayload, BackupResult> {
  return defineTask<BackupPayload, BackupResult>({
    name: BACKUP_TASK,
    validate: parseBackupPayload,
    maxAttempts: 3,
    async handler({ dir, keep }, context) {
      const started = performance.now();
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      const abandoned = store.removeAbandonedBackups(dir);
      const createdAt = new Date();
      const file = path.join(dir, backupFileName(createdAt, backupExtension(store.location)));
      const snapshot = await store.writeBackup(file, context.jobId).catch((error: unknown) => {
        // No attempt finds a program that is not installed: fail at once, saying which.
        throw error instanceof MissingProgram ? new PermanentJobError(error.message) : error;
      });
      const doomed = keep === null ? [] : backupFiles(dir).slice(0, -keep);
      const duration = Math.round(performance.now() - started);
      let result: BackupResult;
      try {
        result = await context.complete(async (trx) => {
          await recordBackup(trx, {
            file,
            created_at: createdAt.getTime(),
            size_bytes: snapshot.sizeBytes,
            users: snapshot.users,
            jobs: snapshot.jobs,
            duration_ms: duration,
            verified: 1,
            job_id: context.jobId,
          });
          await forgetBackups(trx, doomed);
          return {
            file,
            size_bytes: snapshot.sizeBytes,
            users: snapshot.users,
            jobs: snapshot.jobs,
            duration_ms: duration,
            pruned: doomed,
            abandoned,
          };
        });
      } catch (error) {
        // Not recorded (lease lost, database error): this attempt's file must not linger.
        fs.rmSync(file, { force: true });
        throw error;
      }
      // Deleted only once their records are gone: a failed commit deletes nothing.
      for (const old of doomed) fs.rmSync(old, { force: true });
      return result;
    },
  });
}

/**
 * The backup files in `dir`, oldest first: regular files directly in it, named like a backup.
 * Never a link, a folder or anything elsewhere, so `--keep` can delete nothing else. One folder
 * serves one database: `--keep` counts every backup file in it.
 */
export function backupFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && isBackupFileName(entry.name))
    .map((entry) => path.join(dir, entry.name))
    .sort();
}
