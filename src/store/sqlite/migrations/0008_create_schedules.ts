import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

// The schedules (src/queue/schedules.ts): one row per name; each worker that knows a schedule's
// task fires its due slots. Only unpaused schedules are looked at, by their next slot.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table schedules (
    name text primary key,
    task text not null,
    payload text not null,
    every_ms integer,
    cron text,
    timezone text,
    catch_up text not null check (catch_up in ('none', 'latest', 'all')),
    overlap integer not null,
    priority integer not null,
    max_attempts integer,
    paused integer not null default 0,
    next_run_at integer not null,
    last_slot integer,
    last_job_id integer,
    last_fired_at integer,
    skipped integer not null default 0,
    created_at integer not null,
    updated_at integer not null,
    check ((every_ms is null) <> (cron is null))
  )`.execute(db);
  await sql`create index schedules_due on schedules (task, next_run_at) where paused = 0`.execute(db);
}
