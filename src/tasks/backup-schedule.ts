import type { Kysely } from 'kysely';
import { newestBackupTime } from '../db/backups.js';
import type { Database } from '../db/schema.js';
import { toError } from '../errors.js';
import { sleepUntil } from '../queue/delay.js';
import { slotKey, type Cadence } from '../queue/schedule.js';
import { enqueueUnique } from '../queue/task.js';
import { backupTask, runBackupJob, type BackupPayload, type BackupResult } from './backup.js';

export interface BackupScheduleOptions {
  cadence: Cadence;
  payload: BackupPayload;
  /** Only enqueue each slot's job; a `usergen worker` runs it. */
  enqueueOnly: boolean;
}

/** What the scheduler does, as it does it. */
export type ScheduleEvent =
  | { type: 'catch-up'; newest: number | undefined }
  | { type: 'next'; at: number }
  | { type: 'taken'; slot: number }
  | { type: 'queued'; slot: number; jobId: number }
  | { type: 'done'; slot: number; result: BackupResult }
  | { type: 'failed'; slot: number; message: string };

/**
 * Runs until `signal` aborts: one catch-up backup if the newest is older than a period, then one
 * backup per slot. Each slot's job has a unique key, so however many schedulers share the file, a
 * slot gets one job; the catch-up has a key of its own for the slot it starts in, so schedulers
 * started together make one, and a failed slot job does not block it.
 */
export async function runBackupSchedule(
  db: Kysely<Database>,
  options: BackupScheduleOptions,
  signal: AbortSignal,
  report: (event: ScheduleEvent) => void,
): Promise<void> {
  const { cadence } = options;
  const newest = await newestBackupTime(db);
  if (newest === undefined || Date.now() - newest > cadence.periodMs) {
    report({ type: 'catch-up', newest });
    const slot = cadence.slotOf(Date.now());
    await runSlot(db, options, slot, `${slotKey(backupTask.name, slot)}/catch-up`, signal, report);
  }
  while (!signal.aborted) {
    const next = cadence.next(Date.now());
    report({ type: 'next', at: next });
    if (!(await sleepUntil(next, signal))) return;
    await runSlot(db, options, next, slotKey(backupTask.name, next), signal, report);
  }
}

async function runSlot(
  db: Kysely<Database>,
  options: BackupScheduleOptions,
  slot: number,
  key: string,
  signal: AbortSignal,
  report: (event: ScheduleEvent) => void,
): Promise<void> {
  const job = await enqueueUnique(db, backupTask, options.payload, key);
  if (!job) return report({ type: 'taken', slot });
  if (options.enqueueOnly) return report({ type: 'queued', slot, jobId: job.id });
  try {
    report({ type: 'done', slot, result: await runBackupJob(db, job.id, signal) });
  } catch (error) {
    // Stopped while waiting: the job stays queued for any worker; not a failure to report.
    if (!signal.aborted) report({ type: 'failed', slot, message: toError(error).message });
  }
}
