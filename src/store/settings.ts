import type { Kysely } from 'kysely';
import type { TaskLimits } from './limits.js';
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

/** Sets the task's limits, which then replace its definition's (null: the definition's hold again); its row as it is now. */
export function setTaskLimits(db: Kysely<Database>, task: string, limits: TaskLimits | null, now: number): Promise<TaskSettingsRow> {
  const values = {
    limits_set_at: limits === null ? null : now,
    limit_concurrency: limits?.concurrency ?? null,
    limit_rate_max: limits?.rate?.max ?? null,
    limit_rate_per_ms: limits?.rate?.perMs ?? null,
    limit_group_concurrency: limits?.groupConcurrency ?? null,
    updated_at: now,
  };
  return db
    .insertInto('task_settings')
    .values({ task, paused_at: null, ...values })
    .onConflict((conflict) => conflict.column('task').doUpdateSet(values))
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Every task's settings row, by name. */
export function taskSettings(db: Kysely<Database>): Promise<TaskSettingsRow[]> {
  return db.selectFrom('task_settings').selectAll().orderBy('task').execute();
}

/** What is in use of a task's limits now: its running jobs, and its starts since `since`. */
export async function limitUse(db: Kysely<Database>, task: string, since: number): Promise<{ running: number; starts: number }> {
  const running = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('state', '=', 'running')
    .where('task', '=', task)
    .executeTakeFirstOrThrow();
  const starts = await db
    .selectFrom('task_starts')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('task', '=', task)
    .where('at', '>', since)
    .executeTakeFirstOrThrow();
  return { running: Number(running.n), starts: Number(starts.n) };
}

/** Records the limits of the definitions a worker runs (JSON, or null for none), for the status. */
export async function recordDefinedLimits(
  db: Kysely<Database>,
  defined: ReadonlyArray<[task: string, limits: string | null]>,
  now: number,
): Promise<void> {
  const unlimited = defined.filter(([, limits]) => limits === null).map(([task]) => task);
  if (unlimited.length > 0) {
    await db
      .updateTable('task_settings')
      .set({ defined_limits: null })
      .where('task', 'in', unlimited)
      .where('defined_limits', 'is not', null)
      .execute();
  }
  for (const [task, limits] of defined) {
    if (limits === null) continue;
    await db
      .insertInto('task_settings')
      .values({ task, updated_at: now, defined_limits: limits })
      .onConflict((conflict) => conflict.column('task').doUpdateSet({ defined_limits: limits }))
      .execute();
  }
}
