import path from 'node:path';
import { newestBackupTime } from '../tasks/backup-records.js';
import type { JobStore, UnfinishedJob } from '../store/store.js';
import { toError } from '../errors.js';
import { sleepUntil } from '../queue/delay.js';
import { slotKey, type Cadence } from '../queue/schedule.js';
import { countLiveWorkers } from '../queue/live-workers.js';
import { jobSpec } from '../queue/task.js';
import { BACKUP_TASK, backupTask, parseBackupPayload, type BackupPayload, type BackupResult } from '../tasks/backup.js';
import { runBackupJob } from './backups.js';

// `schedule backup`: the scheduler's decisions (catch up or not, which job a slot gets, whether to
// run it here) made here and told as events; the caller prints them (the CLI) or shows them.

export interface BackupScheduleOptions {
  /** The schedule's name (default backup): its slots' jobs have its slot keys. */
  name?: string;
  /** When the slots are: everyCadence or cronCadence. */
  cadence: Cadence;
  payload: BackupPayload;
  /** Only enqueue each slot's job; a `usergen worker` runs it. */
  enqueueOnly: boolean;
  /** Runs until this aborts; a backup under way finishes first. */
  signal: AbortSignal;
  /** Told what the scheduler does, as it does it. */
  report: (event: ScheduleEvent) => void;
}

/** What the scheduler does, as it does it. */
export type ScheduleEvent =
  | { type: 'pending'; job: UnfinishedJob }
  | { type: 'pending-done'; jobId: number; result: BackupResult }
  | { type: 'pending-failed'; jobId: number; message: string }
  | { type: 'catch-up'; newest: number | undefined }
  | { type: 'next'; at: number }
  | { type: 'taken'; slot: number }
  | { type: 'queued'; slot: number; jobId: number }
  /** With --enqueue-only: a job is queued and no worker is alive to run it. */
  | { type: 'no-worker' }
  | { type: 'done'; slot: number; result: BackupResult }
  | { type: 'failed'; slot: number; message: string };

/**
 * Runs until `signal` aborts: one catch-up backup if the newest is older than a period, then one
 * backup per slot. Each slot's job has a unique key, so however many schedulers share the file, a
 * slot gets one job; the catch-up has a key of its own for the slot it starts in and the folder,
 * so schedulers of one folder started together make one, and a failed slot job does not block it.
 */
export async function runBackupSchedule(store: JobStore, options: BackupScheduleOptions): Promise<void> {
  const { cadence, signal, report } = options;
  await catchUp(store, options);
  while (!signal.aborted) {
    const next = cadence.next(Date.now());
    report({ type: 'next', at: next });
    if (!(await sleepUntil(next, signal))) return;
    await runSlot(store, options, next, slotKey(options.name ?? BACKUP_TASK, next));
  }
}

/**
 * A catch-up when the newest backup on record in this folder is older than a period. But a backup
 * job for this folder queued or running is a backup to come that the backups table does not show
 * yet: the slot's own job, still copying in another scheduler, or the job of a scheduler killed
 * mid-copy. Then no catch-up is made; this scheduler works that job instead (waiting while another
 * process holds its lease, taking it once the lease runs out), and catches up only if it fails.
 * Other folders' backups and jobs do not count: each folder has its own schedule and `--keep`.
 */
async function catchUp(store: JobStore, options: BackupScheduleOptions): Promise<void> {
  const { signal, report } = options;
  const dir = path.resolve(options.payload.dir);
  const newest = await newestBackupTime(store.db, dir);
  if (newest !== undefined && Date.now() - newest <= options.cadence.periodMs) return;
  const [pending] = (await store.unfinishedJobsOf(BACKUP_TASK)).filter((job) => folderOf(job) === dir);
  if (pending) {
    report({ type: 'pending', job: pending });
    if (options.enqueueOnly) {
      if ((await countLiveWorkers(store)) === 0) report({ type: 'no-worker' });
      return;
    }
    try {
      report({ type: 'pending-done', jobId: pending.id, result: await runBackupJob(store, pending.id, signal) });
      return;
    } catch (error) {
      if (signal.aborted) return;
      report({ type: 'pending-failed', jobId: pending.id, message: toError(error).message });
    }
  }
  report({ type: 'catch-up', newest });
  const slot = options.cadence.slotOf(Date.now());
  await runSlot(store, options, slot, `${slotKey(options.name ?? BACKUP_TASK, slot)}/catch-up:${dir}`);
}

/** The folder a backup job writes to; undefined for a payload that fails validation (its job fails at once). */
function folderOf(job: UnfinishedJob): string | undefined {
  try {
    return path.resolve(parseBackupPayload(JSON.parse(job.payload)).dir);
  } catch {
    return undefined;
  }
}

async function runSlot(store: JobStore, options: BackupScheduleOptions, slot: number, key: string): Promise<void> {
  const { signal, report } = options;
  const job = await store.enqueueUnique({ ...jobSpec(backupTask(store), options.payload), uniqueKey: key });
  if (!job) return report({ type: 'taken', slot });
  if (options.enqueueOnly) {
    report({ type: 'queued', slot, jobId: job.id });
    if ((await countLiveWorkers(store)) === 0) report({ type: 'no-worker' });
    return;
  }
  try {
    report({ type: 'done', slot, result: await runBackupJob(store, job.id, signal) });
  } catch (error) {
    // Stopped while waiting: the job stays queued for any worker; not a failure to report.
    if (!signal.aborted) report({ type: 'failed', slot, message: toError(error).message });
  }
}
