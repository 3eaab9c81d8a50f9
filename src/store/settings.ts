import type { Kysely } from 'kysely';
import type { Database, TaskSettingsRow } from './schema.js';

// The statements about what the queue is told at run time, alike on every engine (kysely's builder
// only): a task paused or resumed, queue-wide settings. What they mean is the queue's
// (src/queue/pauses.ts, src/queue/retention.ts); the claim of each engine reads the pauses itself.

/** Pauses the task (since the first pause: pausing again keeps it) or resumes it; its row as it is now. */
export function setTaskPaused(db: Kysely<Database>, task: string, paused: boolean, now: number): Promise<TaskSettingsRow> {
  return db
    .insertInto('task_settings')
    .values({ task, paused_at: paused ? now : null, updated_at: now })
    .onConflict((conflict) =>
      conflict.column('task').doUpdateSet((eb) => ({
        paused_at: paused ? eb.fn.coalesce('task_settings.paused_at', eb.val(now)) : null,
        updated_at: now,
      })),
    )
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The paused tasks, by name. */
export function pausedTasks(db: Kysely<Database>): Promise<TaskSettingsRow[]> {
  return db.selectFrom('task_settings').selectAll().where('paused_at', 'is not', null).orderBy('task').execute();
}

/** The setting's JSON, or undefined when it was never set. */
export async function queueSetting(db: Kysely<Database>, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('queue_settings').select('value').where('name', '=', name).executeTakeFirst();
  return row?.value;
}

export async function setQueueSetting(db: Kysely<Database>, name: string, value: string, now: number): Promise<void> {
  await db
    .insertInto('queue_settings')
    .values({ name, value, updated_at: now })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ value, updated_at: now }))
    .execute();
}
