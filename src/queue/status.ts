import { iso } from '../format.js';
import type { JobState, WorkerRow } from '../store/schema.js';
import type { JobStore, QueueStatus } from '../store/store.js';
import { liveWorkers, tasksRun } from './live-workers.js';
import { listSchedules } from './schedules.js';
import { limitViews, type LimitView } from './limits.js';

// The queue's status as the library's queue.status(), `usergen status --json` and /jobs give it
// (the command line and the pages add the backups'): plain data, ISO times, snake_case as the
// table's own columns.

export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  jobs_done: number;
  started_at: string;
  last_heartbeat_at: string;
}

export interface ScheduleView {
  name: string;
  task: string;
  /** `every 1h`, `on cron '0 3 * * *' in Europe/Berlin`. */
  cadence: string;
  paused: boolean;
  next_run_at: string;
  last_job_id: number | null;
  last_job_state: JobState | null;
  last_fired_at: string | null;
  skipped: number;
}

export interface StatusReport {
  /** When the status was read: ages (the oldest wait, a heartbeat's) are counted from it. */
  checked_at: string;
  counts: Record<JobState, number>;
  /** Live workers only. */
  workers: WorkerView[];
  oldest_ready_wait_ms: number | null;
  /** Jobs that succeeded or failed in the last minute. */
  jobs_ended_last_minute: number;
  jobs_per_second_last_minute: number;
  /** Ready jobs of tasks no live worker runs, per task. */
  waiting_for_a_worker_that_knows_their_task: Array<{ task: string; ready: number }>;
  /** Every schedule, by name. */
  schedules: ScheduleView[];
  /** The tasks no worker claims jobs of, by name, with their ready jobs. */
  paused_tasks: PausedTaskView[];
  /** The tasks with limits across workers, by name, with what is in use of them. */
  limits: LimitView[];
}

export interface PausedTaskView {
  task: string;
  paused_at: string;
  /** Its jobs that would be ready to run. */
  ready: number;
}

/** Jobs per state, live workers, the oldest waiting job, throughput, schedules. */
export async function statusReport(store: JobStore, options: { now?: number } = {}): Promise<StatusReport> {
  const now = options.now ?? Date.now();
  const status = await store.queueStatus(now);
  const workers = await liveWorkers(store, now);
  const schedules = await listSchedules(store);
  const paused = await store.pausedTasks();
  return {
    checked_at: iso(now),
    counts: status.counts,
    workers: workers.map((worker) => ({
      id: worker.id,
      host: worker.host,
      pid: worker.pid,
      concurrency: worker.concurrency,
      jobs_done: worker.jobs_done,
      started_at: iso(worker.started_at),
      last_heartbeat_at: iso(worker.last_heartbeat_at),
    })),
    oldest_ready_wait_ms: status.oldest_ready_since === null ? null : now - status.oldest_ready_since,
    jobs_ended_last_minute: status.finished_last_minute,
    jobs_per_second_last_minute: +(status.finished_last_minute / 60).toFixed(2),
    waiting_for_a_worker_that_knows_their_task: waitingForAWorker(workers, status.ready_by_task, new Set(paused.map((row) => row.task))),
    schedules: schedules.map((schedule) => ({
      name: schedule.name,
      task: schedule.task,
      cadence: schedule.cadence,
      paused: schedule.paused,
      next_run_at: iso(schedule.next_run_at),
      last_job_id: schedule.last_job_id,
      last_job_state: schedule.last_job_state,
      last_fired_at: schedule.last_fired_at === null ? null : iso(schedule.last_fired_at),
      skipped: schedule.skipped,
    })),
    paused_tasks: paused.map((row) => ({
      task: row.task,
      paused_at: iso(row.paused_at ?? now),
      ready: status.ready_by_task.find((ready) => ready.task === row.task)?.ready ?? 0,
    })),
    limits: await limitViews(store, status.ready_by_task, now),
  };
}

/**
 * Ready jobs of tasks that no live worker runs, per task (a paused task's wait for its resume
 * instead). Empty while no worker is alive (then every job waits for one), or while one of them
 * takes any task (an older usergen).
 */
function waitingForAWorker(
  workers: readonly WorkerRow[],
  ready: QueueStatus['ready_by_task'],
  paused: ReadonlySet<string>,
): QueueStatus['ready_by_task'] {
  const known = tasksRun(workers);
  if (workers.length === 0 || known === undefined) return [];
  return ready.filter((row) => !known.has(row.task) && !paused.has(row.task));
}
