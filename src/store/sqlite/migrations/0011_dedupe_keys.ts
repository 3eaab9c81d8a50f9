import type { Kysely } from 'kysely';
import { sql } from '../../kysely.js';

// Dedupe keys (src/queue/task.ts, EnqueueOptions.dedupe): at most one job per key while queued
// (dedupe_queued, let go by the claim), or while queued or running (dedupe_active). Each index
// holds only the rows with a key in those states: jobs without one cost their writes nothing.
export async function up(db: Kysely<any>): Promise<void> {
  await sql`alter table jobs add column dedupe_queued text`.execute(db);
  await sql`alter table jobs add column dedupe_active text`.execute(db);
  await sql`create unique index jobs_dedupe_queued on jobs (dedupe_queued) where dedupe_queued is not null and state = 'queued'`.execute(db);
  await sql`create unique index jobs_dedupe_active on jobs (dedupe_active)
    where dedupe_active is not null and state in ('queued', 'running')`.execute(db);
}
