import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

// A unique key means "once, ever": it outlives the job it guarded. The key of every job deleted
// (purged, pruned by retention, or by hand in SQL) is kept here by a trigger, and an insert of a
// job with a kept key is skipped by another (RAISE(IGNORE): the insert adds no row and returns
// none, as the unique index's conflict does). Rows without a key pay only the WHEN test.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table spent_unique_keys (
    unique_key text primary key,
    job_id integer not null,
    deleted_at integer not null
  )`.execute(db);
  await sql`create trigger jobs_keep_unique_key after delete on jobs when old.unique_key is not null
    begin
      insert or ignore into spent_unique_keys (unique_key, job_id, deleted_at)
      values (old.unique_key, old.id, cast(unixepoch('subsec') * 1000 as integer));
    end`.execute(db);
  await sql`create trigger jobs_spent_unique_key before insert on jobs
    when new.unique_key is not null and exists (select 1 from spent_unique_keys where unique_key = new.unique_key)
    begin
      select raise(ignore);
    end`.execute(db);
}
