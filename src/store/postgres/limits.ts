import type { Transaction } from 'kysely';
import { CompiledQuery } from '../kysely.js';
import { allowance, heldBackBy, limitsOf, mergeHeldBack, pickLimited, type HeldBack, type LimitUse, type TaskLimits } from '../limits.js';
import type { Database, TaskSettingsRow } from '../schema.js';
import type { ClaimedJob } from '../store.js';

// The claim of limited tasks' jobs, in PostgreSQL's SQL: a transaction of its own that first takes
// an advisory lock per limited task (in name order: two claims never wait on each other in a
// cycle), so that the claims of every worker count and take a task's free share one at a time;
// each statement after the lock sees what the claim before it committed (READ COMMITTED). Only a
// worker that runs limited tasks runs it. `s` is the schema's name.

export interface LimitedClaim {
  workerId: string;
  leaseEnd: number;
  now: number;
  /** At most this many jobs in all (the worker's free slots: none is claimed ahead). */
  wanted: number;
  jobId: number | undefined;
}

export async function claimLimited(
  trx: Transaction<Database>,
  s: string,
  tasks: readonly string[],
  defined: Readonly<Record<string, TaskLimits>> | undefined,
  claim: LimitedClaim,
): Promise<{ jobs: ClaimedJob[]; heldBack: HeldBack | undefined }> {
  const run = async <R>(text: string, values: unknown[]) => (await trx.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
  const names = [...tasks].sort();
  for (const task of names) await run('select pg_advisory_xact_lock(hashtextextended($1, 0))', [`usergen limit ${s}.${task}`]);
  const settings = await run<Omit<TaskSettingsRow, 'updated_at'>>(
    `select task, paused_at, limits_set_at, limit_concurrency, limit_rate_max, limit_rate_per_ms, limit_group_concurrency
     from ${s}.task_settings where task = any($1::text[])`,
    [names],
  );
  const paused = new Set(settings.filter((row) => row.paused_at !== null).map((row) => row.task));
  const unpaused = names.filter((task) => !paused.has(task));
  const limited = limitsOf(unpaused, defined, settings);
  const ids: number[] = [];
  const rated: string[] = [];
  let heldBack: HeldBack | undefined;
  // A task whose limits were lifted in the database (set to none) is claimed here too: the
  // unlimited statement leaves every task with limits set there.
  for (const task of unpaused) {
    const limits = limited.get(task) ?? {};
    const use = await useOf(run, s, task, limits, claim.now);
    const allowed = allowance(limits, use, claim.jobId === undefined ? claim.wanted - ids.length : 1);
    const only = claim.jobId ?? null;
    // One more than allowed: whether the limit leaves any behind.
    const candidates =
      limits.groupConcurrency === undefined
        ? await run<Candidate>(
            `select id, group_key from ${s}.jobs where state = 'queued' and task = $1 and run_at <= $2 and ($3::bigint is null or id = $3)
             order by priority desc, run_at, id limit $4`,
            [task, claim.now, only, allowed + 1],
          )
        : await run<Candidate>(
            `select id, group_key from (
               select id, group_key, priority, run_at, row_number() over (partition by group_key order by priority desc, run_at, id) as rank
               from ${s}.jobs where state = 'queued' and task = $1 and run_at <= $2 and ($3::bigint is null or id = $3)
             ) ready where rank <= $4 order by rank, priority desc, run_at, id`,
            [task, claim.now, only, limits.groupConcurrency],
          );
    const taken = pickLimited(limits, use, candidates.map(numbered), allowed);
    for (const job of taken) {
      ids.push(job.id);
      if (limits.rate !== undefined) rated.push(task);
    }
    heldBack = mergeHeldBack(heldBack, heldBackBy(limits, use, taken.length, candidates.length > taken.length, claim.now));
  }
  if (ids.length === 0) return { jobs: [], heldBack };
  const taken = await run<ClaimedJob>(
    `update ${s}.jobs set state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1,
       started_at = $3, progress_current = null, progress_total = null
     where id = any($4::bigint[]) and state = 'queued'
     returning id, task, payload, priority, run_at, attempts, max_attempts`,
    [claim.workerId, claim.leaseEnd, claim.now, ids],
  );
  const started = taken.filter((job) => rated.includes(job.task)).map((job) => job.task);
  if (started.length > 0) await run(`insert into ${s}.task_starts (task, at) select task, $2 from unnest($1::text[]) as task`, [started, claim.now]);
  return { jobs: taken.map((job) => ({ ...job, id: Number(job.id), run_at: Number(job.run_at) })), heldBack };
}

type Candidate = { id: number | string; group_key: string | null };
const numbered = (job: Candidate) => ({ id: Number(job.id), group_key: job.group_key });

async function useOf(
  run: <R>(text: string, values: unknown[]) => Promise<R[]>,
  s: string,
  task: string,
  limits: TaskLimits,
  now: number,
): Promise<LimitUse> {
  const rows = await run<{ group_key: string | null; n: string }>(
    `select group_key, count(*) as n from ${s}.jobs where state = 'running' and task = $1 group by group_key`,
    [task],
  );
  const runningByGroup = new Map<string, number>();
  let running = 0;
  for (const row of rows) {
    running += Number(row.n);
    if (row.group_key !== null) runningByGroup.set(row.group_key, Number(row.n));
  }
  if (limits.rate === undefined) return { running, runningByGroup, startsInWindow: 0, oldestStart: null };
  const since = now - limits.rate.perMs;
  await run(`delete from ${s}.task_starts where task = $1 and at <= $2`, [task, since]);
  const [row] = await run<{ n: number; oldest: number | null }>(
    `select count(*) as n, min(at) as oldest from ${s}.task_starts where task = $1 and at > $2`,
    [task, since],
  );
  return { running, runningByGroup, startsInWindow: Number(row!.n), oldestStart: row!.oldest === null ? null : Number(row!.oldest) };
}
