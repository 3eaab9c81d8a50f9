import fs from 'node:fs';
import path from 'node:path';
import { listBackups } from '../tasks/backup-records.js';
import { parseStoredError } from '../queue/errors.js';
import { jobSpec } from '../queue/task.js';
import type { JobStore, UnfinishedJob } from '../store/store.js';
import { countWorkersRunning } from '../queue/live-workers.js';
import { BACKUP_TASK, backupFiles, backupTask, defaultBackupDir, timeOfBackupFileName, type BackupResult } from '../tasks/backup.js';
import { iso } from '../format.js';
import { BackupFailed } from './refusals.js';

// Backups: make one now (`backup`, and restore's safety copy), run a backup job here (the
// scheduler), list them (`backups`).

export type { BackupResult };

export interface BackupOptions {
  /** The backup folder, an absolute path; made if missing. */
  dir: string;
  /** Keep this many backups in `dir`, deleting the oldest beyond it; null keeps all. */
  keep: number | null;
  /** Stops waiting; a copy under way gets BACKUP_GRACE_MS to finish. */
  signal?: AbortSignal | undefined;
}

/** Enqueues a backup and runs it in this process at once (a worker may beat it to the claim); BackupFailed if it did not succeed. */
export async function backUp(store: JobStore, options: BackupOptions): Promise<BackupResult> {
  const job = await store.enqueue(jobSpec(backupTask(store), { dir: options.dir, keep: options.keep }));
  return runBackupJob(store, job.id, options.signal);
}

/** Runs backup job `jobId` here (unless a worker has it) and returns what it wrote; BackupFailed if it did not succeed. */
export async function runBackupJob(store: JobStore, jobId: number, signal?: AbortSignal): Promise<BackupResult> {
  // Imported when needed: `backups` lists without loading the worker loop.
  const { awaitJob } = await import('../queue/wait.js');
  const job = await awaitJob(store, jobId, { runHere: 'always', tasks: [backupTask(store)], signal, graceMs: BACKUP_GRACE_MS });
  if (job.state !== 'succeeded') throw new BackupFailed(job.id, job.state, parseStoredError(job.error));
  return JSON.parse(job.result ?? 'null') as BackupResult;
}

export interface QueuedBackup {
  job_id: number;
  /** The live workers that run backups: none means the job waits until one starts. */
  workers: number;
}

/** Queues a backup into the default backup folder (beside the database) for a worker to make. */
export async function queueBackup(store: JobStore): Promise<QueuedBackup> {
  const job = await store.enqueue(jobSpec(backupTask(store), { dir: defaultBackupDir(store.location), keep: null }));
  return { job_id: job.id, workers: await countWorkersRunning(store, BACKUP_TASK) };
}

/** The backup job that runs next: the oldest of those queued or running; undefined when there is none. */
export async function nextBackupJob(store: JobStore): Promise<UnfinishedJob | undefined> {
  return (await store.unfinishedJobsOf(BACKUP_TASK)).at(-1);
}

/** A backup under way when a stop is asked for gets this long to finish. */
const BACKUP_GRACE_MS = 10 * 60_000;

export interface BackupEntry {
  file: string;
  created_at: string;
  size_bytes: number;
  /** Null for a file found on disk with no record. */
  users: number | null;
  verified: boolean;
  recorded: boolean;
  on_disk: boolean;
}

export interface BackupListingOptions {
  /** The backup folder, an absolute path: its files are listed whether on record or not. */
  dir: string;
  /** Of the records, only those of files in `dir` (`--dir` names one folder); otherwise every folder's. */
  onlyDir: boolean;
}

export interface BackupListing {
  dir: string;
  /** Newest first. */
  backups: BackupEntry[];
}

/** The backups on record and the backup files in the folder, newest first. */
export async function backupListing(store: JobStore, options: BackupListingOptions): Promise<BackupListing> {
  const { dir, onlyDir } = options;
  const listing = new Map<string, BackupEntry>();
  for (const row of await listBackups(store.db)) {
    if (onlyDir && path.dirname(row.file) !== dir) continue;
    listing.set(row.file, {
      file: row.file,
      created_at: iso(row.created_at),
      size_bytes: row.size_bytes,
      users: row.users,
      verified: row.verified === 1,
      recorded: true,
      on_disk: fs.existsSync(row.file),
    });
  }
  for (const file of backupFiles(dir)) {
    if (listing.has(file)) continue;
    listing.set(file, {
      file,
      created_at: timeOfBackupFileName(path.basename(file)),
      size_bytes: fs.statSync(file).size,
      users: null,
      verified: false,
      recorded: false,
      on_disk: true,
    });
  }
  return { dir, backups: [...listing.values()].sort((a, b) => b.created_at.localeCompare(a.created_at)) };
}
