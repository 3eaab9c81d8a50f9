import type { Kysely, SqlBool } from 'kysely';
import { sql } from '../kysely.js';
import type { Database, JobRow } from '../schema.js';
import type { DurationHistogram, JobSelection, PurgeBatch } from '../store.js';
import * as queries from '../queries.js';
import type { PayloadMatch } from '../queries.js';

// The statements behind seeing and steering the queue that need SQLite's own SQL (retry, purge,
// durations); the others every engine shares (../queries.ts). The worker's own hot path is in jobs.ts.

/** A job's history with its retry by hand appended, in SQLite's JSON. */
function retried(now: number) {
  const entry = sql<string>`json_object('at', ${now}, 'attempt', attempts, 'state', 'queued', 'retried_from', state)`;
  return sql<string>`json_insert(coalesce(history, '[]'), '$[#]', ${entry})`;
}

/** The retry by hand (../queries.ts). */
export function retryJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<JobRow | undefined> {
  return queries.retryJob(db, id, retried(now), now);
}

export function retryJobs(db: Kysely<Database>, selection: JobSelection, now = Date.now()): Promise<number> {
  return queries.retryJobs(db, selection, payloadIs, retried(now), now);
}

/**
 * A payload field's value: `->` gives the field as JSON text (minified, as JSON.stringify wrote
 * it), so a string, a number and a boolean each match their own kind only.
 */
export const payloadIs: PayloadMatch = (key, json) => sql<SqlBool>`(payload -> ${`$."${key}"`}) = ${json}`;

/**
 * Deletes one batch of ended jobs (../queries.ts); how many. The highest id given so far is kept in
 * job_id_floor first, in the same transaction: the newest job may be among those deleted, and its
 * id must not be given again (see NEW_JOB_ID).
 */
export async function purgeJobs(db: Kysely<Database>, batch: PurgeBatch): Promise<number> {
  return db.transaction().execute(async (trx) => {
    await sql`update job_id_floor set id = max(id, coalesce((select max(id) from jobs), 0))`.execute(trx);
    return queries.deleteEnded(trx, batch);
  });
}

/** One pass over the ended jobs, each bound a sum: nothing but the counts comes back. */
export async function durations(db: Kysely<Database>, boundsMs: readonly number[]): Promise<DurationHistogram[]> {
  const ran = sql`finished_at - started_at`;
  const counts = boundsMs.length === 0 ? sql`` : sql.join(boundsMs.map((bound) => sql`sum(case when ${ran} <= ${bound} then 1 else 0 end)`));
  const { rows } = await sql<{ task: string; count: number; sum_ms: number; at_most: string }>`
    select task, count(*) as count, coalesce(sum(${ran}), 0) as sum_ms, json_array(${counts}) as at_most
    from jobs where state in ('succeeded', 'failed') and finished_at is not null and started_at is not null
    group by task order by task`.execute(db);
  return rows.map((row) => ({
    task: row.task,
    count: Number(row.count),
    sum_ms: Number(row.sum_ms),
    at_most: (JSON.parse(row.at_most) as number[]).map(Number),
  }));
}
