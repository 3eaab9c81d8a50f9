import type { Kysely } from 'kysely';
import { sql } from './kysely.js';
import { JOB_STATES, type Database, type JobRow, type JobState } from '../schema.js';
import type { DurationHistogram, JobFilter, JobTotal, QueueStatus, UnfinishedJob } from '../store.js';
import { liveWorkers } from './workers.js';

// The statements behind seeing and steering the queue (jobs, job, retry, cancel, status, purge).
// The worker's own hot path is in jobs.ts.

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

/**
 * Deletes jobs in a final `state` that finished before `before`; returns how many. The highest id
 * given so far is kept in job_id_floor first, in the same transaction: the newest job may be among
 * those deleted, and its id must not be given again (see NEW_JOB_ID).
 */
export async function purgeJobs(db: Kysely<Database>, state: JobState, before: number): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`update job_id_floor set id = max(id, coalesce((select max(id) from jobs), 0))`.execute(trx);
    const result = await trx.deleteFrom('jobs').where('state', '=', state).where('finished_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}

export async function queueStatus(db: Kysely<Database>, now = Date.now()): Promise<QueueStatus> {
  const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const state of JOB_STATES) counts[state] = await countInState(db, state);
  const workers = await liveWorkers(db, now);
  // One walk of the ready jobs' index gives both: each task's count and oldest.
  const ready = await readyByTask(db, now);
  const oldest = ready.length === 0 ? null : Math.min(...ready.map((row) => row.since));
  const finished = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('state', 'in', ['succeeded', 'failed'])
    .where('finished_at', '>', now - 60_000)
    .executeTakeFirstOrThrow();
  return {
    counts,
    workers,
    oldest_ready_since: oldest,
    finished_last_minute: Number(finished.count),
    ready_by_task: ready.map(({ task, ready }) => ({ task, ready })),
  };
}

/**
 * One state's jobs, counted through its partial index (jobs_ready_by_task, jobs_leases; every job
 * that ended has a finished_at, so jobs_finished), not the table: one GROUP BY state over 200,000
 * jobs took 30 ms, the five counts 10 ms (measured here), and /jobs and its live updates ask often.
 */
async function countInState(db: Kysely<Database>, state: JobState): Promise<number> {
  let query = db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('state', '=', state);
  if (state !== 'queued' && state !== 'running') query = query.where('finished_at', 'is not', null);
  return Number((await query.executeTakeFirstOrThrow()).count);
}

async function readyByTask(db: Kysely<Database>, now: number): Promise<Array<{ task: string; ready: number; since: number }>> {
  const rows = await db
    .selectFrom('jobs')
    .select(['task', (eb) => eb.fn.countAll<number>().as('ready'), (eb) => eb.fn.min('run_at').as('since')])
    .where('state', '=', 'queued')
    .where('run_at', '<=', now)
    .groupBy('task')
    .execute();
  return rows.map((row) => ({ task: row.task, ready: Number(row.ready), since: Number(row.since) }));
}

/** Whether any job is queued or running (through the partial indexes: cheap however big the table). */
export async function hasUnfinishedJobs(db: Kysely<Database>): Promise<boolean> {
  const queued = await db.selectFrom('jobs').select('id').where('state', '=', 'queued').limit(1).executeTakeFirst();
  if (queued) return true;
  const running = await db.selectFrom('jobs').select('id').where('state', '=', 'running').limit(1).executeTakeFirst();
  return running !== undefined;
}

/**
 * The jobs of `task` (the backup task) that are queued or running, newest first: backups that
 * will be on record but are not yet. One statement per state and no ORDER BY, so each walks the
 * partial index of its state (jobs_ready_by_task, jobs_leases) rather than the whole job table.
 */
export async function unfinishedJobsOf(db: Kysely<Database>, task: string): Promise<UnfinishedJob[]> {
  const ofState = (state: 'queued' | 'running') =>
    db.selectFrom('jobs').select(['id', 'state', 'unique_key', 'payload']).where('state', '=', state).where('task', '=', task).execute();
  const jobs = [...(await ofState('running')), ...(await ofState('queued'))];
  return jobs.sort((a, b) => b.id - a.id);
}

/** Per task and state: jobs and attempts. One pass over the table. */
export async function jobTotals(db: Kysely<Database>): Promise<JobTotal[]> {
  const rows = await db
    .selectFrom('jobs')
    .select(['task', 'state', (eb) => eb.fn.countAll<number>().as('jobs'), (eb) => eb.fn.sum<number>('attempts').as('attempts')])
    .groupBy(['task', 'state'])
    .execute();
  return rows.map((row) => ({ task: row.task, state: row.state, jobs: Number(row.jobs), attempts: Number(row.attempts) }));
}

/** One pass over the ended jobs, each bound a sum: nothing but the counts comes back. */
export async function durations(db: Kysely<Database>, boundsMs: readonly number[]): Promise<DurationHistogram[]> {
  const ran = sql`finished_at - started_at`;
  const counts = boundsMs.length === 0 ? sql`` : sql.join(boundsMs.map((bound) => sql`sum(case when ${ran} <= ${bound} then 1 else 0 end)`));
  const { rows } = await sql<{ task: string; count: number; sum_ms: number; at_most: string }>`
    select task, count(*) as count, coalesce(sum(${ran}), 0) as sum_ms, json_array(${counts}) as at_most
    from jobs where state in ('succeeded', 'failed') and finished_at is not null and started_at is not null
    group by task order by task`.execute(db);
  return rows.map((row) => ({ task: row.task, count: Number(row.count), sum_ms: Number(row.sum_ms), at_most: (JSON.parse(row.at_most) as number[]).map(Number) }));
}
