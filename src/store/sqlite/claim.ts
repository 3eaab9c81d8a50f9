import { claimOrder, type ClaimedJob, type ClaimOptions, type ClaimResult } from '../store.js';
import { allowance, heldBackBy, limitsOf, mergeHeldBack, pickLimited, type HeldBack, type LimitUse, type TaskLimits } from '../limits.js';
import type { TaskSettingsRow } from '../schema.js';
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
  { tasks, jobId, limits, free, relaxSynchronous }: ClaimOptions & { relaxSynchronous: boolean },
  now: number,
): ClaimResult {
  if (relaxSynchronous) connection.execute(SYNCHRONOUS_NORMAL);
  try {
    connection.execute(BEGIN_IMMEDIATE);
    try {
      const expired = connection.execute(CompiledQuery.raw(EXPIRED, [now])).rows.length > 0;
      const lease = [workerId, now + leaseMs, now];
      const settings = connection.execute<SettingsRow>(TASK_SETTINGS).rows;
      const unpaused = withoutPaused(settings, tasks);
      const limited = settings.length === 0 && limits === undefined ? new Map<string, TaskLimits>() : limitsOf(unpaused, limits, settings);
      const unlimited = limited.size === 0 ? unpaused : unpaused.filter((task) => !limited.has(task));
      let claimed: ClaimedJob[] = [];
      let heldBack: HeldBack | undefined;
      if (jobId !== undefined) {
        claimed = connection.execute<ClaimedJob>(CompiledQuery.raw(TAKE_JOB, [...lease, jobId, now, JSON.stringify(unlimited)])).rows;
      }
      if (jobId === undefined || (claimed.length === 0 && limited.size > 0)) {
        let picked: ReadyJob[] = readyJobs(connection, unlimited, jobId === undefined ? limit : 0, now);
        const wanted = Math.min(limit, free ?? limit);
        if (limited.size > 0 && wanted > 0) {
          const held = limitedJobs(connection, limited, wanted, now, jobId);
          picked = picked.concat(held.picked);
          heldBack = held.heldBack;
        }
        const ids = (picked.length > limit ? picked.sort(claimOrder).slice(0, limit) : picked).map((job) => job.id);
        // Read in this transaction, which holds the write lock: still queued, ready, of these tasks.
        claimed = ids.length === 0 ? [] : connection.execute<ClaimedJob>(CompiledQuery.raw(TAKE_READY, [...lease, JSON.stringify(ids)])).rows;
        if (limited.size > 0) recordStarts(connection, limited, claimed, now);
      }
      connection.execute(COMMIT);
      return { jobs: claimed, expired, heldBack };
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
function withoutPaused(settings: readonly SettingsRow[], tasks: readonly string[]): readonly string[] {
  const paused = settings.filter((row) => row.paused_at !== null);
  if (paused.length === 0) return tasks;
  const names = new Set(paused.map((row) => row.task));
  return tasks.filter((task) => !names.has(task));
}

type SettingsRow = Omit<TaskSettingsRow, 'updated_at'>;

/**
 * The jobs of limited tasks this claim may take, read in its transaction, which holds the write
 * lock: no other claim can count the same free share. At most `wanted` in all (the worker's free
 * slots: a limited job is never claimed ahead, where it would hold a share unstarted, and a rate
 * limit's start would be counted before it starts).
 */
function limitedJobs(
  connection: SyncConnection,
  limited: ReadonlyMap<string, TaskLimits>,
  wanted: number,
  now: number,
  jobId: number | undefined,
): { picked: LimitedJob[]; heldBack: HeldBack | undefined } {
  const picked: LimitedJob[] = [];
  let heldBack: HeldBack | undefined;
  for (const [task, limits] of limited) {
    const use = useOf(connection, task, limits, now);
    const allowed = allowance(limits, use, jobId === undefined ? wanted - picked.length : 1);
    const only = jobId ?? null;
    // One more than allowed: whether the limit leaves any behind.
    const candidates =
      limits.groupConcurrency === undefined
        ? connection.execute<LimitedJob>(CompiledQuery.raw(READY_LIMITED, [task, now, only, only, allowed + 1])).rows
        : connection.execute<LimitedJob>(CompiledQuery.raw(READY_BY_GROUP, [task, now, only, only, limits.groupConcurrency])).rows;
    const taken = pickLimited(limits, use, candidates, allowed);
    picked.push(...taken);
    heldBack = mergeHeldBack(heldBack, heldBackBy(limits, use, taken.length, candidates.length > taken.length, now));
  }
  return { picked, heldBack };
}

function useOf(connection: SyncConnection, task: string, limits: TaskLimits, now: number): LimitUse {
  const rows = connection.execute<{ group_key: string | null; n: number }>(CompiledQuery.raw(RUNNING_BY_GROUP, [task])).rows;
  const runningByGroup = new Map<string, number>();
  let running = 0;
  for (const row of rows) {
    running += row.n;
    if (row.group_key !== null) runningByGroup.set(row.group_key, row.n);
  }
  if (limits.rate === undefined) return { running, runningByGroup, startsInWindow: 0, oldestStart: null };
  const since = now - limits.rate.perMs;
  connection.execute(CompiledQuery.raw(FORGET_STARTS, [task, since]));
  const starts = connection.execute<{ n: number; oldest: number | null }>(CompiledQuery.raw(STARTS_SINCE, [task, since])).rows[0]!;
  return { running, runningByGroup, startsInWindow: starts.n, oldestStart: starts.oldest };
}

/** The starts of the rate-limited tasks' jobs just taken, in the same transaction. */
function recordStarts(connection: SyncConnection, limited: ReadonlyMap<string, TaskLimits>, claimed: readonly ClaimedJob[], now: number): void {
  for (const job of claimed) {
    if (limited.get(job.task)?.rate !== undefined) connection.execute(CompiledQuery.raw(RECORD_START, [job.task, now]));
  }
}

type LimitedJob = ReadyJob & { group_key: string | null };

/** The ids of the best `limit` ready jobs of `tasks`: higher priority first, then earlier run_at, then lower id. */
function readyJobs(connection: SyncConnection, tasks: readonly string[], limit: number, now: number): ReadyJob[] {
  let ready: ReadyJob[] = [];
  if (limit === 0) return ready;
  for (const task of tasks) {
    const { rows } = connection.execute<ReadyJob>(CompiledQuery.raw(READY_JOBS, [task, now, limit]));
    if (rows.length > 0) ready = ready.length === 0 ? rows : ready.concat(rows);
  }
  if (ready.length > limit) ready = ready.sort(claimOrder).slice(0, limit);
  return ready;
}

type ReadyJob = Pick<ClaimedJob, 'id' | 'priority' | 'run_at'>;

const BEGIN_IMMEDIATE = CompiledQuery.raw('begin immediate');
const COMMIT = CompiledQuery.raw('commit');
const ROLLBACK = CompiledQuery.raw('rollback');
const SYNCHRONOUS_NORMAL = CompiledQuery.raw('pragma synchronous = normal');
const SYNCHRONOUS_FULL = CompiledQuery.raw('pragma synchronous = full');

/** The tasks paused, or with limits set here: a small table, read once per claim. */
const TASK_SETTINGS = CompiledQuery.raw(`select task, paused_at, limits_set_at, limit_concurrency, limit_rate_max, limit_rate_per_ms,
  limit_group_concurrency from task_settings where paused_at is not null or limits_set_at is not null`);
/** A limited task's running jobs, per group key: through the small index of running jobs (jobs_leases). */
const RUNNING_BY_GROUP = `select group_key, count(*) as n from jobs indexed by jobs_leases where state = 'running' and task = ? group by group_key`;
const STARTS_SINCE = 'select count(*) as n, min(at) as oldest from task_starts where task = ? and at > ?';
const RECORD_START = 'insert into task_starts (task, at) values (?, ?)';
const FORGET_STARTS = 'delete from task_starts where task = ? and at <= ?';
/** A grouped task's ready jobs: the first `?` of each group, in claim order (the claim serves them round-robin). */
const READY_BY_GROUP = `select id, priority, run_at, group_key from (
    select id, priority, run_at, group_key, row_number() over (partition by group_key order by priority desc, run_at, id) as rank
    from jobs where state = 'queued' and task = ? and run_at <= ? and (? is null or id = ?)
  ) where rank <= ? order by rank, priority desc, run_at, id`;
const READY_LIMITED = `select id, priority, run_at, group_key from jobs where state = 'queued' and task = ? and run_at <= ?
  and (? is null or id = ?) order by priority desc, run_at, id limit ?`;
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
