import type { Kysely, SqlBool } from 'kysely';
import { sql } from '../kysely.js';
import type { Database, JobRow } from '../schema.js';
import type { DurationHistogram, JobSelection, PurgeBatch } from '../store.js';
import * as queries from '../queries.js';
import type { PayloadMatch } from '../queries.js';

// Seeing and steering the queue where PostgreSQL's SQL differs from SQLite's (JSON, arrays); the
// rest is shared (../queries.ts).

/** A job's history with its retry by hand appended, in PostgreSQL's JSON. */
function retried(now: number) {
  const entry = sql`jsonb_build_object('at', ${now}::bigint, 'attempt', attempts, 'state', 'queued', 'retried_from', state)`;
  return sql<string>`(coalesce(history, '[]')::jsonb || jsonb_build_array(${entry}))::text`;
}

/** The retry by hand (../queries.ts). */
export function retryJob(db: Kysely<Database>, id: number, now = Date.now()): Promise<JobRow | undefined> {
  return queries.retryJob(db, id, retried(now), now);
}

export function retryJobs(db: Kysely<Database>, selection: JobSelection, now = Date.now()): Promise<number> {
  return queries.retryJobs(db, selection, payloadIs, retried(now), now);
}

/** A payload field's value, compared as jsonb (the payload column is text). */
export const payloadIs: PayloadMatch = (key, json) => sql<SqlBool>`(payload::jsonb -> ${key}::text) = ${json}::jsonb`;

/** Ids come from an identity column, which never gives one twice: purging is deleting. */
export function purgeJobs(db: Kysely<Database>, batch: PurgeBatch): Promise<number> {
  return queries.deleteEnded(db, batch);
}

/** One pass over the ended jobs, each bound a sum: nothing but the counts comes back. */
export async function durations(db: Kysely<Database>, boundsMs: readonly number[]): Promise<DurationHistogram[]> {
  const ran = sql`finished_at - started_at`;
  const counts = sql.join(boundsMs.map((bound) => sql`count(*) filter (where ${ran} <= ${bound}::bigint)`));
  const { rows } = await sql<{ task: string; count: number; sum_ms: number; at_most: number[] }>`
    select task, count(*) as count, coalesce(sum(${ran}), 0)::bigint as sum_ms, array[${counts}]::bigint[] as at_most
    from jobs where state in ('succeeded', 'failed') and finished_at is not null and started_at is not null
    group by task order by task`.execute(db);
  return rows.map((row) => ({ task: row.task, count: Number(row.count), sum_ms: Number(row.sum_ms), at_most: row.at_most.map(Number) }));
}
