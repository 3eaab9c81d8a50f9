import { newestBackupTime } from '../tasks/backup-records.js';
import { nextBackupJob } from './backups.js';
import type { JobStore } from '../store/store.js';
import { statusReport, type StatusReport } from '../queue/status.js';
import { iso } from '../format.js';

export interface NextBackup {
  job_id: number;
  state: 'queued' | 'running';
  run_at: string;
}

/** The queue's status (StatusReport), and the backups'. */
export interface QueueStatusView extends StatusReport {
  last_backup_at: string | null;
  /** The backup job that runs next (queued or running), and when it is due; null when none is. */
  next_backup: NextBackup | null;
}

/** Jobs per state, live workers, the oldest waiting job, throughput, schedules, the last backup. */
export async function queueStatusView(store: JobStore, options: { now?: number } = {}): Promise<QueueStatusView> {
  const report = await statusReport(store, options);
  const lastBackup = await newestBackupTime(store.db);
  const nextBackup = await nextBackupJob(store);
  return {
    ...report,
    last_backup_at: lastBackup === undefined ? null : iso(lastBackup),
    next_backup: nextBackup === undefined ? null : { job_id: nextBackup.id, state: nextBackup.state, run_at: iso(nextBackup.run_at) },
  };
}

/** Whether the database answers now: undefined, or why not (one line, naming the database). */
export function databaseHealth(store: JobStore): Promise<string | undefined> {
  return store.health();
}

/** Per task and state, every job and the attempts they used; per task, how long its ended jobs ran against `boundsMs`: what /metrics counts. */
export async function jobMetrics(store: JobStore, boundsMs: readonly number[]) {
  const [totals, durations] = await Promise.all([store.jobTotals(), store.durations(boundsMs)]);
  return { totals, durations };
}
