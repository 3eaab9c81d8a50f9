import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // The names of the tasks a worker runs (a JSON array): a job of a task no live worker knows
  // waits for one, and `status`/`jobs` say so. Null for a worker of an older usergen.
  await db.schema.alterTable('workers').addColumn('tasks', 'text').execute();
}
