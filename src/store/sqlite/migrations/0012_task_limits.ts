import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

// Limits that hold across every worker (src/queue/limits.ts): per task, the limits set from the
// CLI or the library (limits_set_at not null: they replace the definition's, a null column then
// meaning no such limit), and those of the definitions the workers run (defined_limits, JSON, as
// each worker last said at its start: for the status); each job's group key (computed at enqueue from the task's definition);
// and the starts of rate-limited tasks, kept for one window.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table task_settings add column limits_set_at integer`.execute(db);
  await sql`alter table task_settings add column limit_concurrency integer`.execute(db);
  await sql`alter table task_settings add column limit_rate_max integer`.execute(db);
  await sql`alter table task_settings add column limit_rate_per_ms integer`.execute(db);
  await sql`alter table task_settings add column limit_group_concurrency integer`.execute(db);
  await sql`alter table task_settings add column defined_limits text`.execute(db);
  await sql`alter table jobs add column group_key text`.execute(db);
  await sql`create table task_starts (task text not null, at integer not null)`.execute(db);
  await sql`create index task_starts_by_task on task_starts (task, at)`.execute(db);
}
