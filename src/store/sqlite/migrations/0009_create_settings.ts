import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

// What the queue is told at run time and every worker obeys: per task, whether it is paused (its
// jobs are not claimed); queue-wide settings by name (the retention of ended jobs), JSON values.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`create table task_settings (
    task text primary key,
    paused_at integer,
    updated_at integer not null
  )`.execute(db);
  await sql`create table queue_settings (
    name text primary key,
    value text not null,
    updated_at integer not null
  )`.execute(db);
}
