// Who waits for which job to end (queue.result, in any process): each waiter's rows, and triggers
// that notify `usergen_<schema>_ended` with the id of each job waited for that a statement ended
// or deleted, in that statement's transaction (delivered at its commit). Once per statement, not
// per row: while nobody waits, a batch of completions costs one probe of an empty table, and no
// notification (whose queue lock every notifying commit would take in turn).

export function up(s: string): string {
  const notify = (rows: string, where: string) => `
  begin
    if exists (select 1 from ${s}.job_waiters) then
      perform pg_notify('usergen_' || tg_table_schema || '_ended', changed.id::text)
      from ${rows} changed
      where ${where} exists (select 1 from ${s}.job_waiters w where w.job_id = changed.id);
    end if;
    return null;
  end`;
  return `
  create table ${s}.job_waiters (
    job_id bigint not null,
    -- The store that waits (a random id): its rows go when it stops waiting, others' stay.
    waiter text not null,
    since bigint not null
  );
  create index job_waiters_job on ${s}.job_waiters (job_id);
  create function ${s}.notify_jobs_ended() returns trigger language plpgsql as $$${notify('ended', "changed.state in ('succeeded', 'failed', 'cancelled') and")} $$;
  create function ${s}.notify_jobs_deleted() returns trigger language plpgsql as $$${notify('gone', '')} $$;
  create trigger jobs_ended after update on ${s}.jobs referencing new table as ended
    for each statement execute function ${s}.notify_jobs_ended();
  create trigger jobs_deleted after delete on ${s}.jobs referencing old table as gone
    for each statement execute function ${s}.notify_jobs_deleted();`;
}
