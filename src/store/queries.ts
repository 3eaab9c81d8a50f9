import type { Expression, ExpressionBuilder, Kysely, SqlBool, UpdateQueryBuilder, UpdateResult } from 'kysely';
import { JOB_STATES, type Database, type JobRow, type JobState, type ScheduleRow, type TaskSettingsRow, type WorkerRow } from './schema.js';
import * as schedules from './schedules.js';
import * as settings from './settings.js';
import type { ScheduleSpec } from './schedules.js';
import type { Claim, HostIdentity, JobFilter, JobSelection, PurgeBatch, JobTotal, QueueStatus, UnfinishedJob, WorkerIdentityRow } from './store.js';

// The statements every engine runs alike: kysely's builder only, no SQL of one engine. Each engine
// runs its own hot path (claim, enqueue, completion) and what needs its own SQL (JSON, arrays).

export async function getJob(db: Kysely<Database>, id: number): Promise<JobRow | undefined> {
  return db.selectFrom('jobs').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The fence every write about a running job goes through: this job, still this run's (worker and attempt), still running. */
type JobUpdate = UpdateQueryBuilder<Database, 'jobs', 'jobs', UpdateResult>;

export function heldBy(query: JobUpdate, { jobId, workerId, attempt }: Claim): JobUpdate {
  return query.where('id', '=', jobId).where('locked_by', '=', workerId).where('attempts', '=', attempt).where('state', '=', 'running');
}

/** Returns false when the job is no longer held by the run `claim` names. */
export async function saveProgress(db: Kysely<Database>, claim: Claim, current: number, total: number): Promise<boolean> {
  const result = await heldBy(db.updateTable('jobs').set({ progress_current: current, progress_total: total }), claim).executeTakeFirst();
  return result.numUpdatedRows === 1n;
}

/**
 * Gives an interrupted job back to the queue, its progress dropped; the interrupted attempt does
 * not count (a running job has had at least one: its claim counted it). `keptKey` is the engine's
 * SQL for what its dedupe key becomes (../dedupe.ts, keptQueuedKey).
 */
export async function releaseJob(db: Kysely<Database>, claim: Claim, keptKey: Expression<string | null>): Promise<boolean> {
  const update = await heldBy(
    db.updateTable('jobs').set((eb) => ({
      state: 'queued',
      attempts: eb('attempts', '-', 1),
      locked_by: null,
      locked_until: null,
      progress_current: null,
      progress_total: null,
      dedupe_queued: keptKey,
    })),
    claim,
  ).executeTakeFirst();
  return update.numUpdatedRows === 1n;
}

/** How an engine says "the payload's top-level field `key` is the JSON `json`" in its own SQL. */
export type PayloadMatch = (key: string, json: string) => Expression<SqlBool>;

/** The jobs a selection holds, as one condition (true when it names none). */
function selected(selection: JobSelection, payloadIs: PayloadMatch) {
  return (eb: ExpressionBuilder<Database, 'jobs'>) => {
    const terms: Expression<SqlBool>[] = [];
    if (selection.state !== undefined) terms.push(eb('state', '=', selection.state));
    if (selection.task !== undefined) terms.push(eb('task', '=', selection.task));
    if (selection.schedule !== undefined) {
      // Not LIKE: a name may hold its wildcard `_`.
      const prefix = `${selection.schedule}@`;
      terms.push(eb(eb.fn<string>('substr', ['unique_key', eb.lit(1), eb.lit(prefix.length)]), '=', prefix));
    }
    for (const [key, value] of Object.entries(selection.payload ?? {})) terms.push(payloadIs(key, JSON.stringify(value)));
    return eb.and(terms);
  };
}

/** Newest first. */
export async function listJobs(db: Kysely<Database>, filter: JobFilter, payloadIs: PayloadMatch): Promise<JobRow[]> {
  let query = db.selectFrom('jobs').selectAll().where(selected(filter, payloadIs)).orderBy('id', 'desc').limit(filter.limit);
  if (filter.before !== undefined) query = query.where('id', '<', filter.before);
  return query.execute();
}

export const RETRYABLE: readonly JobState[] = ['failed', 'cancelled'];
export const CANCELLABLE: readonly JobState[] = ['queued', 'running'];

/**
 * Failed or cancelled jobs go back to the queue with their attempts reset; `history` is a job's
 * history with the retry appended (each engine writes JSON in its own SQL). A job whose state
 * changed between a caller's read and this write is left as it is.
 */
function retryUpdate(db: Kysely<Database>, history: Expression<string>, now: number) {
  return db
    .updateTable('jobs')
    .set({
      history,
      state: 'queued',
      attempts: 0,
      run_at: now,
      error: null,
      result: null,
      started_at: null,
      finished_at: null,
      progress_current: null,
      progress_total: null,
      // Another job may hold its key now: a job retried by hand is deduplicated no more.
      dedupe_queued: null,
      dedupe_active: null,
    })
    .where('state', 'in', RETRYABLE);
}

/** The job as it is now, or undefined if it was not failed or cancelled. */
export function retryJob(db: Kysely<Database>, id: number, history: Expression<string>, now: number): Promise<JobRow | undefined> {
  return retryUpdate(db, history, now).where('id', '=', id).returningAll().executeTakeFirst();
}

/** How many were retried: one statement, so all of them or none. */
export async function retryJobs(
  db: Kysely<Database>,
  selection: JobSelection,
  payloadIs: PayloadMatch,
  history: Expression<string>,
  now: number,
): Promise<number> {
  const result = await retryUpdate(db, history, now).where(selected(selection, payloadIs)).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Cancels queued or running jobs. A running one loses its lease with this: its worker's next
 * progress report or heartbeat finds the job no longer its own and stops, and its completion,
 * fenced on `state = 'running'`, can no longer commit, so none of its writes land.
 */
function cancelUpdate(db: Kysely<Database>, now: number) {
  return db.updateTable('jobs').set({ state: 'cancelled', finished_at: now, locked_by: null, locked_until: null }).where('state', 'in', CANCELLABLE);
}

export function cancelJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<JobRow | undefined> {
  return cancelUpdate(db, now).where('id', '=', id).returningAll().executeTakeFirst();
}

export async function cancelJobs(db: Kysely<Database>, selection: JobSelection, payloadIs: PayloadMatch, now = Date.now()): Promise<number> {
  const result = await cancelUpdate(db, now).where(selected(selection, payloadIs)).executeTakeFirst();
  return Number(result.numUpdatedRows);
}

/**
 * Deletes one batch of ended jobs, the oldest first (through jobs_finished); how many. Their
 * unique keys are kept by the schema's trigger (spent_unique_keys).
 */
export async function deleteEnded(db: Kysely<Database>, batch: PurgeBatch): Promise<number> {
  // The conditions again on the rows deleted: PostgreSQL re-reads a row that changed meanwhile (a
  // job retried by hand) against the outer WHERE only, and would delete it otherwise.
  let query = db
    .deleteFrom('jobs')
    .where('id', 'in', (eb) => {
      let ended = eb.selectFrom('jobs').select('id').where('state', '=', batch.state).where('finished_at', '<', batch.before);
      if (batch.since !== undefined) ended = ended.where('finished_at', '>=', batch.since);
      if (batch.task !== undefined) ended = ended.where('task', '=', batch.task);
      return ended.orderBy('finished_at').limit(batch.limit);
    })
    .where('state', '=', batch.state)
    .where('finished_at', '<', batch.before);
  if (batch.since !== undefined) query = query.where('finished_at', '>=', batch.since);
  if (batch.task !== undefined) query = query.where('task', '=', batch.task);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function queueStatus(db: Kysely<Database>, now = Date.now()): Promise<QueueStatus> {
  const counts: Record<JobState, number> = { queued: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const state of JOB_STATES) counts[state] = await countInState(db, state);
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
    oldest_ready_since: oldest,
    finished_last_minute: Number(finished.count),
    ready_by_task: ready.map(({ task, ready }) => ({ task, ready })),
  };
}

/**
 * One state's jobs, counted through its partial index (jobs_ready_by_task, jobs_leases; every job
 * that ended has a finished_at, so jobs_finished), not the table: one GROUP BY state over 200,000
 * jobs took 30 ms, the five counts 10 ms (SQLite, measured here), and /jobs and its live updates ask often.
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
    db
      .selectFrom('jobs')
      .select(['id', 'unique_key', 'payload', 'run_at'])
      .where('state', '=', state)
      .where('task', '=', task)
      .execute()
      .then((rows) => rows.map((row) => ({ ...row, state })));
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

// Workers' rows.

// A row already there is this worker's own: a registration retried after its connection was
// lost may have been committed by the server all the same.
export async function insertWorker(db: Kysely<Database>, worker: WorkerRow): Promise<void> {
  await db
    .insertInto('workers')
    .values(worker)
    .onConflict((conflict) => conflict.column('id').doUpdateSet(worker))
    .execute();
}

/** Pushes out the worker's `alive_until` only: runs inside a transaction of the caller's too. */
export async function touchWorker(db: Kysely<Database>, workerId: string, aliveUntil: number, jobsDone: number, now: number): Promise<void> {
  await db.updateTable('workers').set({ last_heartbeat_at: now, alive_until: aliveUntil, jobs_done: jobsDone }).where('id', '=', workerId).execute();
}

export async function deleteWorker(db: Kysely<Database>, workerId: string): Promise<void> {
  await db.deleteFrom('workers').where('id', '=', workerId).execute();
}

/** The workers whose lease runs past `now`, oldest first. */
export function workersInLease(db: Kysely<Database>, now: number): Promise<WorkerRow[]> {
  return db.selectFrom('workers').selectAll().where('alive_until', '>', now).orderBy('started_at').execute();
}

/** The rows of the workers recorded on `host`. */
export function workersOnHost(db: Kysely<Database>, host: HostIdentity): Promise<WorkerIdentityRow[]> {
  return db
    .selectFrom('workers')
    .select(['id', 'pid', 'boot_id', 'pid_namespace', 'start_ticks'])
    .where('boot_id', '=', host.boot_id)
    .where('pid_namespace', '=', host.pid_namespace)
    .execute();
}

/**
 * The part of a JobStore that every engine answers alike, through kysely's builder on its `db`:
 * an engine's store extends it and adds what needs its own SQL.
 */
export abstract class BuilderQueries {
  abstract readonly db: Kysely<Database>;

  getJob(id: number): Promise<JobRow | undefined> {
    return getJob(this.db, id);
  }

  async getJobs(ids: readonly number[]): Promise<JobRow[]> {
    const rows: JobRow[] = [];
    // In chunks: SQLite takes at most 32,766 values a statement.
    for (let i = 0; i < ids.length; i += 1_000) {
      rows.push(
        ...(await this.db
          .selectFrom('jobs')
          .selectAll()
          .where('id', 'in', ids.slice(i, i + 1_000))
          .execute()),
      );
    }
    return rows;
  }

  /** The engine's own SQL for a payload field's value (JSON differs between them). */
  protected abstract readonly payloadIs: PayloadMatch;

  listJobs(filter: JobFilter): Promise<JobRow[]> {
    return listJobs(this.db, filter, this.payloadIs);
  }

  cancelJob(id: number): Promise<JobRow | undefined> {
    return cancelJob(this.db, id);
  }

  cancelJobs(selection: JobSelection): Promise<number> {
    return cancelJobs(this.db, selection, this.payloadIs);
  }

  saveProgress(claim: Claim, current: number, total: number): Promise<boolean> {
    return saveProgress(this.db, claim, current, total);
  }

  /** What a released job's `dedupe_queued` becomes, in the engine's SQL (../dedupe.ts, keptQueuedKey). */
  protected abstract readonly keptQueuedKey: Expression<string | null>;

  release(claim: Claim): Promise<boolean> {
    return releaseJob(this.db, claim, this.keptQueuedKey);
  }

  insertWorker(worker: WorkerRow): Promise<void> {
    return insertWorker(this.db, worker);
  }

  deleteWorker(workerId: string): Promise<void> {
    return deleteWorker(this.db, workerId);
  }

  workersInLease(now: number): Promise<WorkerRow[]> {
    return workersInLease(this.db, now);
  }

  workersOnHost(host: HostIdentity): Promise<WorkerIdentityRow[]> {
    return workersOnHost(this.db, host);
  }

  queueStatus(now = Date.now()): Promise<QueueStatus> {
    return queueStatus(this.db, now);
  }

  hasUnfinishedJobs(): Promise<boolean> {
    return hasUnfinishedJobs(this.db);
  }

  unfinishedJobsOf(task: string): Promise<UnfinishedJob[]> {
    return unfinishedJobsOf(this.db, task);
  }

  jobTotals(): Promise<JobTotal[]> {
    return jobTotals(this.db);
  }

  taskSettings(): Promise<TaskSettingsRow[]> {
    return settings.taskSettings(this.db);
  }

  recordDefinedLimits(defined: ReadonlyArray<[task: string, limits: string | null]>, now: number): Promise<void> {
    return settings.recordDefinedLimits(this.db, defined, now);
  }

  limitUse(task: string, since: number): Promise<{ running: number; starts: number }> {
    return settings.limitUse(this.db, task, since);
  }

  pausedTasks(): Promise<TaskSettingsRow[]> {
    return settings.pausedTasks(this.db);
  }

  queueSetting(name: string): Promise<string | undefined> {
    return settings.queueSetting(this.db, name);
  }

  setQueueSetting(name: string, value: string, now: number): Promise<void> {
    return settings.setQueueSetting(this.db, name, value, now);
  }

  saveSchedule(spec: ScheduleSpec, now: number): Promise<ScheduleRow> {
    return schedules.saveSchedule(this.db, spec, now);
  }

  getSchedule(name: string): Promise<ScheduleRow | undefined> {
    return schedules.getSchedule(this.db, name);
  }

  listSchedules(): Promise<ScheduleRow[]> {
    return schedules.listSchedules(this.db);
  }

  deleteSchedule(name: string): Promise<boolean> {
    return schedules.deleteSchedule(this.db, name);
  }

  setSchedulePaused(name: string, paused: boolean, nextRunAt: number | undefined, now: number): Promise<ScheduleRow | undefined> {
    return schedules.setSchedulePaused(this.db, name, paused, nextRunAt, now);
  }

  dueSchedules(tasks: readonly string[], now: number): Promise<ScheduleRow[]> {
    return schedules.dueSchedules(this.db, tasks, now);
  }

  nextScheduleAt(tasks: readonly string[]): Promise<number | undefined> {
    return schedules.nextScheduleAt(this.db, tasks);
  }
}
