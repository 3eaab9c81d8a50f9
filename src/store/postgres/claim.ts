// The claim: a worker taking ready jobs, with the lease that makes them its own, in PostgreSQL's
// SQL. `s` is the schema's name.

/**
 * The claim, one statement: the first `limit` ready jobs of the tasks asked for, in claim order,
 * locked with SKIP LOCKED (two workers never wait for each other, nor take the same job), then
 * leased; a paused task's jobs are left (read by this statement: no claim begun after a pause
 * committed takes one). It also says whether some running job's lease has expired, for the queue to put back.
 * (Done in this statement, the jobs put back could not be claimed by it: a statement sees the
 * table as it was when it began.) $1 worker, $2 lease end,
 * $3 now, $4 tasks, $5 limit, $6 the job asked for (or null). One row: `jobs` (JSON), `expired`,
 * and `limited`: those of the tasks with limits set in the database, which this statement leaves
 * to the limited claim (limits.ts).
 */
export function claimJobs(s: string): string {
  return `with ready as (
    select id from ${s}.jobs
    where state = 'queued' and run_at <= $3 and task = any($4::text[]) and ($6::bigint is null or id = $6)
      and task not in (select task from ${s}.task_settings where paused_at is not null or limits_set_at is not null)
    order by priority desc, run_at, id
    limit $5
    for update skip locked
  ), taken as (
    update ${s}.jobs set state = 'running', locked_by = $1, locked_until = $2, attempts = attempts + 1,
      started_at = $3, progress_current = null, progress_total = null
    from ready where jobs.id = ready.id
    returning jobs.id, jobs.task, jobs.payload, jobs.priority, jobs.run_at, jobs.attempts, jobs.max_attempts
  )
  select coalesce((select json_agg(taken) from taken), '[]') as jobs,
    exists (select 1 from ${s}.jobs where state = 'running' and locked_until < $3) as expired,
    coalesce((select json_agg(task) from ${s}.task_settings where limits_set_at is not null and task = any($4::text[])), '[]') as limited`;
}
