import type { JobRow } from '../schema.js';
import { runAtOf, type Claim, type Completion, type NewJobSpec } from '../store.js';
import { fence } from '../fence.js';
import { dedupeColumn, dedupeConflict, keptQueuedKey, type Dedupe } from '../dedupe.js';

// The statements of a worker's hot path and of enqueueing, in PostgreSQL's SQL. Each is one
// statement (one round trip); `s` is the schema's name.

/** The values of a new job's row, as bound parameters $1.. in INSERT_COLUMNS' order. */
export function newJobParameters(spec: NewJobSpec, now: number): unknown[] {
  return [spec.task, JSON.stringify(spec.payload), spec.priority ?? 0, runAtOf(spec, now), spec.maxAttempts, now, spec.groupKey ?? null];
}

// group_key is bound as $7, the statements' own values after it.
const INSERT_COLUMNS = '(task, payload, state, priority, run_at, attempts, max_attempts, created_at, group_key)';

/**
 * One job. Idle workers are woken by a notification on the channel (delivered at commit) when the
 * job is ready now: $8 is the time it is compared with, $9 the channel.
 */
export function insertJob(s: string, unique: boolean): string {
  const conflict = unique ? 'on conflict (unique_key) where unique_key is not null do nothing' : '';
  const key = unique ? ', unique_key' : '';
  const keyValue = unique ? ', $10' : '';
  return `with job as (
    insert into ${s}.jobs ${INSERT_COLUMNS.slice(0, -1)}${key})
    values ($1, $2, 'queued', $3, $4, 0, $5, $6, $7${keyValue}) ${conflict}
    returning *
  ), woken as (select pg_notify($9, '') from job where job.run_at <= $8)
  select job.*, (select count(*) from woken) as woken from job`;
}

/** One job with a dedupe key: inserted, or the job that holds it returned (or debounced); $10 the key. */
export function insertDeduped(s: string, dedupe: Dedupe): string {
  return `with job as (
    insert into ${s}.jobs ${INSERT_COLUMNS.slice(0, -1)}, ${dedupeColumn(dedupe)})
    values ($1, $2, 'queued', $3, $4, 0, $5, $6, $7, $10) ${dedupeConflict(dedupe)}
    returning *
  ), woken as (select pg_notify($9, '') from job where job.run_at <= $8)
  select job.*, (select count(*) from woken) as woken from job`;
}

/** Many jobs in one statement, from arrays (one per column; $6 the time they are made); ids in order. */
export function insertJobs(s: string): string {
  return `with job as (
    insert into ${s}.jobs ${INSERT_COLUMNS}
    select task, payload, 'queued', priority, run_at, 0, max_attempts, $6, group_key
    from unnest($1::text[], $2::text[], $3::integer[], $4::bigint[], $5::integer[], $7::text[]) with ordinality
      as spec(task, payload, priority, run_at, max_attempts, group_key, position)
    order by position
    returning id, run_at
  ), woken as (select pg_notify($9, '') where exists (select 1 from job where run_at <= $8))
  select id from job, (select count(*) from woken) as w order by id`;
}

export function jobRowOf(row: JobRow & { woken?: unknown }): JobRow {
  const { woken: _woken, ...job } = row;
  return job;
}

const COMPLETE_SET = `state = 'succeeded', finished_at = $1, locked_by = null, locked_until = null,
  progress_current = coalesce(progress_total, progress_current)`;

/** One job that wrote through its transaction: $2 result, $3 id, $4 worker, $5 attempt. */
export function completeJob(s: string): string {
  return `update ${s}.jobs set ${COMPLETE_SET}, result = $2
    where ${fence('jobs', '$3', '$4', '$5')}`;
}

/** A batch of jobs that wrote nothing of their own, from arrays; returns the ids it marked. */
export function completeJobs(s: string): string {
  return `update ${s}.jobs set ${COMPLETE_SET}, result = done.result
    from unnest($2::bigint[], $3::text[], $4::text[], $5::integer[]) as done(id, result, worker, attempt)
    where ${fence('jobs', 'done.id', 'done.worker', 'done.attempt')}
    returning jobs.id`;
}

export function completionArrays(completions: readonly Completion[]): unknown[] {
  return [completions.map((c) => c.jobId), completions.map((c) => c.result), completions.map((c) => c.workerId), completions.map((c) => c.attempt)];
}

/** Pushes out the leases of the runs (ids $2, attempts $3) worker $4 holds, to $1. */
export function renewLeases(s: string): string {
  return `update ${s}.jobs set locked_until = $1
    from unnest($2::bigint[], $3::integer[]) as run(id, attempt)
    where ${fence('jobs', 'run.id', '$4', 'run.attempt')}
    returning jobs.id`;
}

export function runArrays(runs: ReadonlyArray<Omit<Claim, 'workerId'>>): unknown[] {
  return [runs.map((run) => run.jobId), runs.map((run) => run.attempt)];
}

/**
 * A failed attempt: back to the queue at $2 (its progress dropped), or failed for good when $2 is
 * null; the error ($1, and $7 as JSON for the history) appended to the history. $3 now, $4 id,
 * $5 worker, $6 attempt.
 */
export function failAttempt(s: string): string {
  const retry = '$2::bigint is not null';
  const state = `case when ${retry} then 'queued' else 'failed' end`;
  return `update ${s}.jobs set
    state = ${state},
    error = $1,
    history = (coalesce(history, '[]')::jsonb || jsonb_build_array(jsonb_build_object('at', $3::bigint, 'attempt', attempts,
      'state', ${state}, 'error', $7::jsonb, 'retry_at', $2::bigint)))::text,
    finished_at = case when ${retry} then finished_at else $3 end,
    run_at = case when ${retry} then $2 else run_at end,
    progress_current = case when ${retry} then null else progress_current end,
    progress_total = case when ${retry} then null else progress_total end,
    attempts = case when ${retry} and not $8::boolean then attempts - 1 else attempts end,
    dedupe_queued = ${keptQueuedKey(`${s}.jobs`, { manyRows: false })},
    locked_by = null, locked_until = null
    where ${fence('jobs', '$4', '$5', '$6')}`;
}

/** An error as the history keeps it: its JSON, or a plain message made into `{name, message}`. */
export function errorJson(error: string): string {
  try {
    JSON.parse(error);
    return error;
  } catch {
    return JSON.stringify({ name: 'Error', message: error });
  }
}
