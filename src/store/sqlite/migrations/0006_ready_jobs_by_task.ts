import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

export async function up(db: Kysely<any>): Promise<void> {
  // The ready jobs by task: a worker claims through the index of each task it knows, so ready jobs
  // of tasks it does not know cost its claims nothing (see claimJobs). It replaces
  // jobs_ready rather than joining it: a second partial index on the queued jobs made each
  // enqueue 30% slower (27 µs an INSERT against 21, measured here).
  await sql`drop index if exists jobs_ready`.execute(db);
  await sql`create index if not exists jobs_ready_by_task on jobs (task, priority desc, run_at, id) where state = 'queued'`.execute(db);
}
