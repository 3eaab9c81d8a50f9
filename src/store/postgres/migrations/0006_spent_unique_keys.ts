// A unique key means "once, ever", as in the SQLite file: the key of every job deleted (purged,
// pruned by retention, or by hand) is kept by a statement-level trigger, and an insert of a job
// with a kept key is skipped by a row trigger that runs only for rows with a key.

export function up(s: string): string {
  return `
  create table ${s}.spent_unique_keys (
    unique_key text primary key,
    job_id bigint not null,
    deleted_at bigint not null
  );
  create function ${s}.keep_unique_keys() returns trigger language plpgsql as $$
  begin
    insert into ${s}.spent_unique_keys (unique_key, job_id, deleted_at)
    select gone.unique_key, gone.id, (extract(epoch from clock_timestamp()) * 1000)::bigint
    from gone where gone.unique_key is not null
    on conflict do nothing;
    return null;
  end $$;
  create trigger jobs_keep_unique_keys after delete on ${s}.jobs referencing old table as gone
    for each statement execute function ${s}.keep_unique_keys();
  create function ${s}.skip_spent_unique_key() returns trigger language plpgsql as $$
  begin
    if exists (select 1 from ${s}.spent_unique_keys where unique_key = new.unique_key) then
      return null;
    end if;
    return new;
  end $$;
  create trigger jobs_spent_unique_key before insert on ${s}.jobs
    for each row when (new.unique_key is not null) execute function ${s}.skip_spent_unique_key();`;
}
