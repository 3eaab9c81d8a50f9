import type { Kysely } from 'kysely';

/** `history`: a JSON array of the job's earlier runs, appended to each time it is retried. */
export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('jobs').addColumn('history', 'text').execute();
  await db.schema.createIndex('jobs_finished').on('jobs').columns(['state', 'finished_at']).execute();
}
