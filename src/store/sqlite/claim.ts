import { claimOrder, type ClaimedJob, type ClaimOptions, type ClaimResult } from '../store.js';
import type { ImmediateSqliteDriver, SyncConnection } from './driver.js';
import { CompiledQuery } from '../kysely.js';

// The claim: a worker taking ready jobs, with the lease that makes them its own.

/**
 * Claims up to `limit` ready jobs for `workerId`, highest priority first, and leases them for
 * `leaseMs`, inside BEGIN IMMEDIATE: two workers can never both see a job as queued, because the
 * write lock is taken before the read. A DEFERRED transaction reads first and fails with
 * SQLITE_BUSY ("database is locked") on upgrading its lock when another process wrote in between,
 * which the busy timeout cannot retry: with DEFERRED, test/queue/contention.test.ts (3 workers,
 * 1 enqueuer) saw such failures in 2 runs of 2; with IMMEDIATE, none. The same transaction says
 * whether some running job's lease has expired, for the queue to put back.
 *
 * At `full` durability the claim alone commits without an fsync (synchronous=NORMAL for its
 * transaction): a claim lost to a power cut leaves the job queued, which is what a worker killed
 * mid-job leads to anyway, and the next fsynced commit (the job's completion) makes it durable
 * along with everything before it in the WAL. It saves an fsync per claim, about a third of an
 * idle worker's pickup time.
 */
export function claimJobs(
  driver: ImmediateSqliteDriver,
  workerId: string,
  limit: number,
  leaseMs: number,
  options: ClaimOptions & { relaxSynchronous: boolean },
  now?: number,
): Promise<ClaimResult> {
  // The time is read once the connection is held: a claim that waited for it (behind a long
  // completion) must not write a lease already partly spent.
  return driver.exclusive((connection) => claimOn(connection, workerId, limit, leaseMs, options, now ?? Date.now()));
}

/**
 * The claim's transaction, run synchronously on the connection (no other query can come in
 * between, and no promise per statement). The jobs it takes are read per task, through the index
 * jobs_ready_by_task (task, priority desc, run_at, id): the first `limit` ready jobs of each task
 * the worker knows, merged here, so ready jobs of tasks it does not know cost its claim nothing.
 * One scan of all ready jobs filtered by task skipped each of them instead: with 100,000 ahead of
 * its own, a claim took 9.2 ms instead of 0.16 ms (better-sqlite3 alone, measured here). One
 * compound SELECT with an arm per task did the same in SQL, but cost 22 µs more a claim of one job.
 */
function claimOn(
  connection: SyncConnection,
  workerId: string,
  limit: number,
  leaseMs: number,
  { tasks, jobId, relaxSynchronous }: ClaimOptions & { relaxSynchronous: boolean },
  now: number,
): ClaimResult {
  if (relaxSynchronous) connection.execute(SYNCHRONOUS_NORMAL);
  try {
    connection.execute(BEGIN_IMMEDIATE);
    try {
      const expired = connection.execute(CompiledQuery.raw(EXPIRED, [now])).rows.length > 0;
      const lease = [workerId, now + leaseMs, now];
      const unpaused = withoutPaused(connection, tasks);
      let claimed: ClaimedJob[];
      if (jobId !== undefined) {
        claimed = connection.execute<ClaimedJob>(CompiledQuery.raw(TAKE_JOB, [...lease, jobId, now, JSON.stringify(unpaused)])).rows;
      } else {
        const ids = readyJobs(connection, unpaused, limit, now);
        // Read in this transaction, which holds the write lock: still queued, ready, of these tasks.
        claimed = ids.length === 0 ? [] : connection.execute<ClaimedJob>(CompiledQuery.raw(TAKE_READY, [...lease, JSON.stringify(ids)])).rows;
      }
      connection.execute(COMMIT);
      return { jobs: claimed, expired };
    } catch (error) {
      // SQLite has rolled back already after some errors (disk full, I/O); a failed ROLLBACK
      // must not replace the error that matters.
      if (connection.inTransaction) ignoreError(() => connection.execute(ROLLBACK));
      throw error;
    }
  } finally {
    // Neither may a failed reset: after a committed claim it would leave its jobs leased to a
    // worker that never runs them. (Setting a pragma does no I/O; the next claim sets it again.)
    if (relaxSynchronous) ignoreError(() => connection.execute(SYNCHRONOUS_FULL));
  }
}

function ignoreError(statement: () => unknown): void {
  try {
    statement();
  } catch {
    // See the callers.
  }
}

/**
 * The tasks of `tasks` that are not paused, read in the claim's own transaction: no claim takes a
 * job of a task once its pause has committed. The read scans a table of a row per task ever paused,
 * once per claim (not per job).
 */
function withoutPaused(connection: SyncConnection, tasks: readonly string[]): readonly string[] {
  const { rows } = connection.execute<{ task: string }>(PAUSED_TASKS);
  if (rows.length === 0) return tasks;
  const paused = new Set(rows.map((row) => row.task));
  return tasks.filter((task) => !paused.has(task));
}

/** The ids of the best `limit` ready jobs of `tasks`: higher priority first, then earlier run_at, then lower id. */
function readyJobs(connection: SyncConnection, tasks: readonly string[], limit: number, now: number): number[] {
  let ready: ReadyJob[] = [];
  for (const task of tasks) {
    const { rows } = connection.execute<ReadyJob>(CompiledQuery.raw(READY_JOBS, [task, now, limit]));
    if (rows.length > 0) ready = ready.length === 0 ? rows : ready.concat(rows);
  }
  if (ready.length > limit) ready = ready.sort(claimOrder).slice(0, limit);
  return ready.map((job) => job.id);
}

type ReadyJob = Pick<ClaimedJob, 'id' | 'priority' | 'run_at'>;

const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SYNCHRONOUS_NORMAL = CompiledQuery.raw('pragma synchronous = normal');
const SYNCHRONOUS_FULL = CompiledQuery.raw('pragma synchronous = full');

const PAUSED_TASKS = CompiledQuery.raw('select task from task_settings where paused_at is not null');
/** Whether some running job's lease ran out (through the index jobs_leases). */
const EXPIRED = `select 1 from jobs where state = 'running' and locked_until < ? limit 1`;
const READY_JOBS = `select id, priority, run_at from jobs where state = 'queued' and task = ? and run_at <= ?
  order by priority desc, run_at, id limit ?`;
const TAKE = `update jobs set state = 'running', locked_by = ?, locked_until = ?, attempts = attempts + 1,
  started_at = ?, progress_current = null, progress_total = null`;
const RETURNING = 'returning id, task, payload, priority, run_at, attempts, max_attempts';
/** One job by id: only if it is queued, ready and of a task the worker knows. */
const TAKE_JOB = `${TAKE} where id = ? and state = 'queued' and run_at <= ? and task in (select value from json_each(?)) ${RETURNING}`;
const TAKE_READY = `${TAKE} where id in (select value from json_each(?)) ${RETURNING}`;
