// The schedules (src/queue/schedules.ts), as in the SQLite file: one row per name; each worker
// that knows a schedule's task fires its due slots.

export function up(s: string): string {
  return `
  create table ${s}.schedules (
    name text primary key,
    task text not null,
    payload text not null,
    every_ms bigint,
    cron text,
    timezone text,
    catch_up text not null check (catch_up in ('none', 'latest', 'all')),
    overlap integer not null,
    priority integer not null,
    max_attempts integer,
    paused integer not null default 0,
    next_run_at bigint not null,
    last_slot bigint,
    last_job_id bigint,
    last_fired_at bigint,
    skipped bigint not null default 0,
    created_at bigint not null,
    updated_at bigint not null,
    check ((every_ms is null) <> (cron is null))
  );
  create index schedules_due on ${s}.schedules (task, next_run_at) where paused = 0;`;
}
