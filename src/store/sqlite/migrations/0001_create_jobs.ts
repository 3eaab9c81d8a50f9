import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('jobs')
    .addColumn('id', 'integer', (col) => col.primaryKey().autoIncrement())
    .addColumn('task', 'text', (col) => col.notNull())
    .addColumn('payload', 'text', (col) => col.notNull())
    .addColumn('state', 'text', (col) => col.notNull().check(sql`state in ('queued', 'running', 'succeeded', 'failed', 'cancelled')`))
    .addColumn('priority', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('run_at', 'integer', (col) => col.notNull())
    .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(0))
    .addColumn('max_attempts', 'integer', (col) => col.notNull())
    .addColumn('locked_by', 'text')
    .addColumn('locked_until', 'integer')
    .addColumn('progress_current', 'integer')
    .addColumn('progress_total', 'integer')
    .addColumn('result', 'text')
    .addColumn('error', 'text')
    .addColumn('unique_key', 'text')
    .addColumn('created_at', 'integer', (col) => col.notNull())
    .addColumn('started_at', 'integer')
    .addColumn('finished_at', 'integer')
    .addColumn('history', 'text')
    .execute();

  // Partial indexes only: a job enters few of them, so an enqueue writes the table page and one
  // index page (SQLite's WAL writes whole pages; every index touched costs a page a commit).
  // The claim walks this one in claim order and stops after LIMIT rows.
  await sql`create index jobs_ready on jobs (priority desc, run_at, id) where state = 'queued'`.execute(db);
  // Expired leases (killed workers) are found through this one.
  await sql`create index jobs_leases on jobs (locked_until) where state = 'running'`.execute(db);
  // At most one job per key, ever (one backup per schedule slot); most jobs have none.
  await sql`create unique index jobs_unique_key on jobs (unique_key) where unique_key is not null`.execute(db);
  // Ended jobs by state and end time: throughput in `status`, retention in `purge`.
  await sql`create index jobs_finished on jobs (state, finished_at) where finished_at is not null`.execute(db);

  await db.schema
    .createTable('workers')
    .addColumn('id', 'text', (col) => col.primaryKey())
    .addColumn('host', 'text', (col) => col.notNull())
    .addColumn('pid', 'integer', (col) => col.notNull())
    .addColumn('concurrency', 'integer', (col) => col.notNull())
    .addColumn('started_at', 'integer', (col) => col.notNull())
    .addColumn('last_heartbeat_at', 'integer', (col) => col.notNull())
    .addColumn('alive_until', 'integer', (col) => col.notNull())
    .addColumn('jobs_done', 'integer', (col) => col.notNull().defaultTo(0))
    .execute();
}
