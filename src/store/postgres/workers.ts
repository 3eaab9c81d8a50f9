import { keptQueuedKey } from '../dedupe.js';

// Putting back the jobs of workers that died, in PostgreSQL's SQL: which ones, and with what
// error, is the queue's (src/queue/recovery.ts). `s` is the schema's name. Parameters: $1 the
// time, $2 and $3 the error's name and message, then those of the statement.

/**
 * Puts back (or fails, with no attempts left) the running jobs `where` selects; the error is
 * appended to the job's history, and a job put back drops its stale progress.
 */
function recoverJobs(s: string, where: string): string {
  const ended = 'attempts >= max_attempts';
  const state = `case when ${ended} then 'failed' else 'queued' end`;
  const error = `jsonb_build_object('name', $2::text, 'message', replace(replace($3::text, '{worker}', locked_by), '{attempt}', attempts::text))`;
  return `update ${s}.jobs set
    state = ${state},
    finished_at = case when ${ended} then $1::bigint end,
    error = ${error}::text,
    history = (coalesce(history, '[]')::jsonb || jsonb_build_array(jsonb_build_object('at', $1::bigint, 'attempt', attempts,
      'state', ${state}, 'error', ${error})))::text,
    progress_current = case when ${ended} then progress_current end,
    progress_total = case when ${ended} then progress_total end,
    dedupe_queued = ${keptQueuedKey(`${s}.jobs`, { manyRows: true })},
    locked_by = null, locked_until = null
    where state = 'running' and ${where}
    returning id`;
}

/** The running jobs whose lease ran out before $1; those another claim is recovering are skipped. */
export function recoverExpired(s: string): string {
  return `with expired as (
    select id from ${s}.jobs where state = 'running' and locked_until < $1 for update skip locked
  ) ${recoverJobs(s, 'id in (select id from expired)')}`;
}

/** The running jobs of the workers whose ids are $4 (their rows are deleted in the same transaction, by store.ts). */
export function recoverWorkers(s: string): string {
  return recoverJobs(s, 'locked_by = any($4::text[])');
}
