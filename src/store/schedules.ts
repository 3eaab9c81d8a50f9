import type { Kysely, Transaction } from 'kysely';
import type { Database, ScheduleRow } from './schema.js';

// The statements about schedules, alike on every engine (kysely's builder only). When a slot is
// due and what firing it enqueues is the queue's (src/queue/schedules.ts).

/** What saving a schedule sets: everything but its record of fires and skips, and whether it is paused. */
export type ScheduleSpec = Omit<ScheduleRow, 'paused' | 'last_slot' | 'last_job_id' | 'last_fired_at' | 'skipped' | 'created_at' | 'updated_at'>;

/** What a fire (or a skip) records, moving the schedule on to its next slot. */
export interface ScheduleAdvance {
  next_run_at: number;
  /** The newest slot fired, and its job (undefined: none fired, or its job was enqueued already); both kept as they were when undefined. */
  last_slot?: number | undefined;
  last_job_id?: number | undefined;
  /** When the slots were fired. */
  fired_at: number;
  /** Slots skipped now, added to the schedule's count. */
  skipped: number;
}

/** Inserts the schedule, or updates the one of its name: what it has fired and skipped, and its pause, are kept. */
export async function saveSchedule(db: Kysely<Database>, spec: ScheduleSpec, now: number): Promise<ScheduleRow> {
  const { name: _name, ...changes } = spec;
  return db
    .insertInto('schedules')
    .values({ ...spec, paused: 0, skipped: 0, created_at: now, updated_at: now })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ ...changes, updated_at: now }))
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function getSchedule(db: Kysely<Database>, name: string): Promise<ScheduleRow | undefined> {
  return db.selectFrom('schedules').selectAll().where('name', '=', name).executeTakeFirst();
}

/** By name. */
export function listSchedules(db: Kysely<Database>): Promise<ScheduleRow[]> {
  return db.selectFrom('schedules').selectAll().orderBy('name').execute();
}

/** Whether there was one to delete. */
export async function deleteSchedule(db: Kysely<Database>, name: string): Promise<boolean> {
  const result = await db.deleteFrom('schedules').where('name', '=', name).executeTakeFirst();
  return result.numDeletedRows === 1n;
}

/** Pauses or resumes the schedule (resumed, from `nextRunAt`); undefined when there is none of that name. */
export function setSchedulePaused(
  db: Kysely<Database>,
  name: string,
  paused: boolean,
  nextRunAt: number | undefined,
  now: number,
): Promise<ScheduleRow | undefined> {
  return db
    .updateTable('schedules')
    .set({ paused: paused ? 1 : 0, updated_at: now, ...(nextRunAt === undefined ? {} : { next_run_at: nextRunAt }) })
    .where('name', '=', name)
    .returningAll()
    .executeTakeFirst();
}

/** The unpaused schedules of `tasks` whose next slot is at or before `now`, the most overdue first. */
export function dueSchedules(db: Kysely<Database>, tasks: readonly string[], now: number): Promise<ScheduleRow[]> {
  if (tasks.length === 0) return Promise.resolve([]);
  return db
    .selectFrom('schedules')
    .selectAll()
    .where('paused', '=', 0)
    .where('task', 'in', tasks)
    .where('next_run_at', '<=', now)
    .orderBy('next_run_at')
    .execute();
}

/** When the next slot of an unpaused schedule of `tasks` is; undefined when they have none. */
export async function nextScheduleAt(db: Kysely<Database>, tasks: readonly string[]): Promise<number | undefined> {
  if (tasks.length === 0) return undefined;
  const row = await db
    .selectFrom('schedules')
    .select((eb) => eb.fn.min('next_run_at').as('next'))
    .where('paused', '=', 0)
    .where('task', 'in', tasks)
    .executeTakeFirst();
  return row?.next === null || row?.next === undefined ? undefined : Number(row.next);
}

/**
 * Moves the schedule on from the slot `from`, in the transaction that enqueued its jobs; false when
 * it is no longer at `from` (another worker fired it first) or was paused or removed meanwhile: the
 * transaction must then be rolled back.
 */
export async function advanceSchedule(trx: Transaction<Database>, name: string, from: number, advance: ScheduleAdvance): Promise<boolean> {
  const result = await trx
    .updateTable('schedules')
    .set((eb) => ({
      next_run_at: advance.next_run_at,
      skipped: eb('skipped', '+', advance.skipped),
      ...(advance.last_slot === undefined ? {} : { last_slot: advance.last_slot, last_fired_at: advance.fired_at }),
      ...(advance.last_job_id === undefined ? {} : { last_job_id: advance.last_job_id }),
    }))
    .where('name', '=', name)
    .where('next_run_at', '=', from)
    .where('paused', '=', 0)
    .executeTakeFirst();
  return result.numUpdatedRows === 1n;
}
