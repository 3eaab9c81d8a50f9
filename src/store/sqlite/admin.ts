import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import type { Database, JobRow, JobState, WorkerRow } from '../schema.js';
import { liveWorkers, tasksOf } from './workers.js';

// The statements behind seeing and steering the queue (jobs, job, retry, cancel, status, purge).
// The worker's own hot path is in store.ts.

export interface JobFilter {
  state?: JobState | undefined;
  task?: string | undefined;
  limit: number;
}

/** Newest first. */
export async function listJobs(db: Kysely<Database>, filter: JobFilter): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll().orderBy('id', 'desc').limit(filter.limit);
  if (filter.state !== undefined) query = query.where('state', '=', filter.state);
  if (filter.task !== undefined) query = query.where('task', '=', filter.task);
  return query.execute();
}

/**
 * A failed or cancelled job goes back to the queue with its attempts reset; the retry is appended
 * to `history` (which holds every failed attempt's error already). Returns the job as it is now,
 * or undefined if it was not failed or cancelled (a changed state between read and write included).
 */
export async function retryJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<JobRow | undefined> {
  const earlier = sql<string>`json_object('at', ${now}, 'attempt', attempts, 'state', 'queued', 'retried_from', state)`;
  return db
    .updateTable('jobs')
    .set({
      history: sql`json_insert(coalesce(history, '[]'), '$[#]', ${earlier})`,
      state: 'queued',
      attempts: 0,
      run_at: now,
      error: null,
      result: null,
      started_at: null,
      finished_at: null,
      progress_current: null,
      progress_total: null,
    })
    .where('id', '=', id)
    .where('state', 'in', ['failed', 'cancelled'])
    .returningAll()
    .executeTakeFirst();
}

/**
 * Cancels a queued or running job. A running one loses its lease with this: its worker's next
 * progress report or heartbeat finds the job no longer its own and stops, and its completion,
 * fenced on `state = 'running'`, can no longer commit, so none of its writes land.
 */
export async function cancelJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<JobRow | undefined> {
  return db
    .updateTable('jobs')
    .set({ state: 'cancelled', finished_at: now, locked_by: null, locked_until: null })
    .where('id', '=', id)
    .where('state', 'in', ['queued', 'running'])
    .returningAll()
    .executeTakeFirst();
}

/** Deletes jobs in a final `state` that finished before `before`; returns how many. */
export async function purgeJobs(db: Kysely<Database>, state: JobState, before: number): Promise<number> {
  const result = await db
    .deleteFrom('jobs')
    .where('state', '=', state)
    .where('finished_at', '<', before)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export interface QueueStatus {
  counts: Record<JobState, number>;
  /** Within their lease, and not known dead on this host. */
  workers: WorkerRow[];
  /** Since when the oldest ready job has waited (ms since the epoch), if one waits. */
  oldest_ready_since: number | null;
  /** Jobs that ended (succeeded or failed) in the last minute. */
  finished_last_minute: number;
  /**
   * Ready jobs of tasks that no live worker runs, per task: they wait for a worker that knows
   * them. Empty while no worker is alive (then every job waits for one).
   */
  unknown_tasks: Array<{ task: string; ready: number }>;
}

export async function queueStatus(db: Kysely<Database>, now = Date.now()): Promise<QueueStatus> {
  const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  const rows = await db
    .selectFrom('jobs')
    .select(['state', (eb) => eb.fn.countAll<number>().as('count')])
    .groupBy('state')
    .execute();
  for (const row of rows) counts[row.state] = Number(row.count);
  const workers = await liveWorkers(db, now);
  const oldest = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.min('run_at').as('run_at'))
    .where('state', '=', 'queued')
    .where('run_at', '<=', now)
    .executeTakeFirst();
  const finished = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('state', 'in', ['succeeded', 'failed'])
    .where('finished_at', '>', now - 60_000)
    .executeTakeFirstOrThrow();
  return {
    counts,
    workers,
    oldest_ready_since: oldest?.run_at ?? null,
    finished_last_minute: Number(finished.count),
    unknown_tasks: await readyJobsOfUnknownTasks(db, workers, now),
  };
}

/** The tasks the live `workers` run, or undefined if one of them takes any task (an older usergen). */
export function tasksRun(workers: WorkerRow[]): Set<string> | undefined {
  const names = new Set<string>();
  for (const worker of workers) {
    const tasks = tasksOf(worker);
    if (tasks === undefined) return undefined;
    for (const name of tasks) names.add(name);
  }
  return names;
}

async function readyJobsOfUnknownTasks(db: Kysely<Database>, workers: WorkerRow[], now: number): Promise<QueueStatus['unknown_tasks']> {
  const known = tasksRun(workers);
  if (workers.length === 0 || known === undefined) return [];
  const rows = await db
    .selectFrom('jobs')
    .select(['task', (eb) => eb.fn.countAll<number>().as('ready')])
    .where('state', '=', 'queued')
    .where('run_at', '<=', now)
    .groupBy('task')
    .execute();
  return rows.filter((row) => !known.has(row.task)).map((row) => ({ task: row.task, ready: Number(row.ready) }));
}

/** Whether any job is queued or running (through the partial indexes: cheap however big the table). */
export async function hasUnfinishedJobs(db: Kysely<Database>): Promise<boolean> {
  const queued = await db.selectFrom('jobs').select('id').where('state', '=', 'queued').limit(1).executeTakeFirst();
  if (queued) return true;
  const running = await db.selectFrom('jobs').select('id').where('state', '=', 'running').limit(1).executeTakeFirst();
  return running !== undefined;
}
