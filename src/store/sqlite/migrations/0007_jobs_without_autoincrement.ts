import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  // The jobs table rebuilt without AUTOINCREMENT: its sqlite_sequence row, read and written by
  // every INSERT, was a fifth of an enqueue's cost (23.8 µs an INSERT against 18.7, better-sqlite3
  // alone, synchronous=NORMAL). Ids are still never given twice: SQLite gives max(id) + 1, and
  // job_id_floor keeps the highest id ever given once purge has deleted it (every INSERT takes
  // the greater of the two, see jobs.ts).
  // Run with foreign_keys off (migrateToLatest): dropping the old table would otherwise set every
  // users.job_id and backups.job_id to null.
  await sql`create table job_id_floor (id integer not null)`.execute(db);
  await sql`insert into job_id_floor (id) values (coalesce((select seq from sqlite_sequence where name = 'jobs'), 0))`.execute(db);
  await sql`create table jobs_rebuilt (
    id integer primary key,
    task text not null,
    payload text not null,
    state text not null check (state in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority integer default 0 not null,
    run_at integer not null,
    attempts integer default 0 not null,
    max_attempts integer not null,
    locked_by text,
    locked_until integer,
    progress_current integer,
    progress_total integer,
    result text,
    error text,
    unique_key text,
    created_at integer not null,
    started_at integer,
    finished_at integer,
    history text
  )`.execute(db);
  await sql`insert into jobs_rebuilt select id, task, payload, state, priority, run_at, attempts, max_attempts, locked_by,
    locked_until, progress_current, progress_total, result, error, unique_key, created_at, started_at, finished_at, history
    from jobs`.execute(db);
  await sql`drop table jobs`.execute(db);
  await sql`alter table jobs_rebuilt rename to jobs`.execute(db);
  await sql`create index jobs_leases on jobs (locked_until) where state = 'running'`.execute(db);
  await sql`create unique index jobs_unique_key on jobs (unique_key) where unique_key is not null`.execute(db);
  await sql`create index jobs_finished on jobs (state, finished_at) where finished_at is not null`.execute(db);
  await sql`create index jobs_ready_by_task on jobs (task, priority desc, run_at, id) where state = 'queued'`.execute(db);
}
