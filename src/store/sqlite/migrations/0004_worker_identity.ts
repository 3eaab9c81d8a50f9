import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  // Where a worker runs, so that one on this host whose process is gone is known dead at once
  // (src/queue/liveness.ts). Null where it cannot be known: then its lease alone decides.
  await db.schema.alterTable('workers').addColumn('boot_id', 'text').execute();
  await db.schema.alterTable('workers').addColumn('pid_namespace', 'text').execute();
  await db.schema.alterTable('workers').addColumn('start_ticks', 'integer').execute();

  // History now holds one entry per event, appended when it happens: `{at, attempt, state, error,
  // retry_at}` for a failed attempt (state: what the job went to), `{at, attempt, state: 'queued',
  // retried_from}` for a retry by hand. Until now an entry was written only by a retry by hand,
  // `{state, attempts, error, finished_at, retried_at}`: each becomes the failure and the retry.
  await sql`update jobs set history = (
      select json_group_array(json(entry) order by position) from (
        select old.key * 2 as position, json_object('at', old.value ->> 'finished_at', 'attempt', old.value ->> 'attempts',
          'state', old.value ->> 'state', 'error', json(coalesce(old.value -> 'error', 'null'))) as entry
        from json_each(jobs.history) as old
        union all
        select old.key * 2 + 1, json_object('at', old.value ->> 'retried_at', 'attempt', old.value ->> 'attempts',
          'state', 'queued', 'retried_from', old.value ->> 'state')
        from json_each(jobs.history) as old
      )
    )
    where history is not null and json_valid(history)`.execute(db);
  // The failure that a failed job, or a job waiting for its next attempt, ended its last attempt
  // with was kept in `error` only: it goes into history too, so that the next failure or retry keeps it.
  await sql`update jobs set history = json_insert(coalesce(history, '[]'), '$[#]', json_object(
      'at', coalesce(finished_at, started_at, created_at), 'attempt', attempts, 'state', state,
      'error', case when json_valid(error) then json(error) else json_object('name', 'Error', 'message', error) end,
      'retry_at', case when state = 'queued' then run_at end))
    where error is not null and state in ('failed', 'queued')`.execute(db);
}
