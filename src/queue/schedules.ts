import { UsageError, toError } from '../errors.js';
import { CATCH_UPS, type CatchUp, type JobState, type ScheduleRow } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { parseDuration } from './duration.js';
import { cronCadence, everyCadence, MIN_EVERY_MS, type Cadence } from './schedule.js';
import type { TaskOf } from './task.js';

// Schedules: a task's job at each slot of a cadence, kept in the database and fired by every
// worker that knows the task (./schedule-firing.ts). Saving, listing, pausing and removing them.

/** When a schedule's slots are: every period (aligned to the clock, UTC), or at a cron expression's times in a zone. */
export type ScheduleCadence = { every: number | string } | { cron: string; timezone?: string };

export type ScheduleOptions = ScheduleCadence & {
  /**
   * What the slots missed while no worker ran (more than one period late, at least 5 s and at
   * most a minute) become: `none`, nothing; `latest` (default), one job for the newest of them;
   * `all`, one job each.
   */
  catchUp?: CatchUp;
  /** Default false: a slot that comes while the schedule's previous job is queued or running is skipped (and counted). */
  overlap?: boolean;
  /** The jobs' priority (default 0). */
  priority?: number;
  /** The jobs' attempts (default: the task's). */
  maxAttempts?: number;
};

/** A schedule as `queue.schedules()` lists it. Times in ms since the epoch. */
export interface Schedule {
  name: string;
  task: string;
  payload: unknown;
  /** `every 1h`, `on cron '0 3 * * *' in Europe/Berlin`. */
  cadence: string;
  every_ms: number | null;
  cron: string | null;
  timezone: string | null;
  catch_up: CatchUp;
  overlap: boolean;
  priority: number;
  max_attempts: number | null;
  paused: boolean;
  /** The next slot to fire (while paused: none fires; resumed, the next slot after then). */
  next_run_at: number;
  last_slot: number | null;
  last_job_id: number | null;
  /** The state of the last job fired, if it is still in the table. */
  last_job_state: JobState | null;
  last_fired_at: number | null;
  skipped: number;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

function checkName(name: string): void {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw new UsageError(`a schedule's name is 1 to 100 letters, digits and _ . : - (starting with a letter or digit), got '${String(name)}'`);
  }
}

/** The cadence a schedule's row records. */
export function cadenceOf(row: Pick<ScheduleRow, 'every_ms' | 'cron' | 'timezone'>): Promise<Cadence> {
  return row.every_ms !== null ? Promise.resolve(everyCadence(row.every_ms)) : cronCadence(row.cron!, row.timezone ?? undefined);
}

/** The cadence `options` describe; a UsageError when they are wrong. */
export function cadenceOfOptions(options: ScheduleCadence): Promise<Cadence> {
  return cadenceOf(cadenceColumns(options));
}

function cadenceColumns(options: ScheduleCadence): Pick<ScheduleRow, 'every_ms' | 'cron' | 'timezone'> {
  const every = 'every' in options ? options.every : undefined;
  const cron = 'cron' in options ? options.cron : undefined;
  if ((every === undefined) === (cron === undefined)) throw new UsageError('a schedule needs exactly one of every or cron');
  if (every !== undefined) {
    const everyMs = typeof every === 'string' ? parseDuration(every, 'every', MIN_EVERY_MS) : every;
    return { every_ms: everyMs, cron: null, timezone: null };
  }
  if (typeof cron !== 'string') throw new UsageError(`a cron expression is a string, got ${typeof cron}`);
  const { timezone } = options as { timezone?: string };
  return { every_ms: null, cron, timezone: timezone ?? null };
}

function checkInteger(value: number | undefined, what: string, min: number): void {
  if (value !== undefined && (!Number.isSafeInteger(value) || value < min))
    throw new UsageError(`${what} must be an integer of at least ${min}, got ${value}`);
}

/**
 * Inserts the schedule `name`, or updates it (what it fired, skipped and its pause are kept; with
 * the same cadence it goes on from the slot it was at, unless `fromNow`: a scheduler that makes
 * its own catch-up starts it from its next slot). The payload is validated by the task.
 */
export async function saveSchedule<P>(
  store: JobStore,
  name: string,
  task: TaskOf<P>,
  payload: P,
  options: ScheduleOptions,
  { now = Date.now(), fromNow = false }: { now?: number; fromNow?: boolean } = {},
): Promise<Schedule> {
  checkName(name);
  const columns = cadenceColumns(options);
  const cadence = await cadenceOf(columns);
  const catchUp = options.catchUp ?? 'latest';
  if (!CATCH_UPS.includes(catchUp)) throw new UsageError(`catchUp must be one of ${CATCH_UPS.join(', ')}, got '${String(catchUp)}'`);
  checkInteger(options.priority, 'priority', Number.MIN_SAFE_INTEGER);
  checkInteger(options.maxAttempts, 'maxAttempts', 1);
  try {
    task.validate(payload);
  } catch (error) {
    throw new UsageError(`invalid payload for ${task.name}: ${toError(error).message}`);
  }
  const known = await store.getSchedule(name);
  const sameCadence = known?.every_ms === columns.every_ms && known?.cron === columns.cron && known?.timezone === columns.timezone;
  const row = await store.saveSchedule(
    {
      name,
      task: task.name,
      payload: JSON.stringify(payload),
      ...columns,
      catch_up: catchUp,
      overlap: options.overlap === true ? 1 : 0,
      priority: options.priority ?? 0,
      max_attempts: options.maxAttempts ?? null,
      next_run_at: known && sameCadence && !fromNow ? known.next_run_at : cadence.next(now),
    },
    now,
  );
  return scheduleOf(store, row, cadence);
}

/** Every schedule, by name. */
export async function listSchedules(store: JobStore): Promise<Schedule[]> {
  const rows = await store.listSchedules();
  return Promise.all(rows.map(async (row) => scheduleOf(store, row, await cadenceOf(row))));
}

export async function getSchedule(store: JobStore, name: string): Promise<Schedule | undefined> {
  const row = await store.getSchedule(name);
  return row && scheduleOf(store, row, await cadenceOf(row));
}

/** Removes the schedule; its jobs stay. A UsageError when there is none of that name. */
export async function removeSchedule(store: JobStore, name: string): Promise<void> {
  if (!(await store.deleteSchedule(name))) throw noSuchSchedule(name);
}

/** No slot fires until it is resumed. */
export async function pauseSchedule(store: JobStore, name: string, now = Date.now()): Promise<Schedule> {
  const row = await store.setSchedulePaused(name, true, undefined, now);
  if (!row) throw noSuchSchedule(name);
  return scheduleOf(store, row, await cadenceOf(row));
}

/** Fires again from its next slot after `now`: the slots that came while it was paused stay unfired. */
export async function resumeSchedule(store: JobStore, name: string, now = Date.now()): Promise<Schedule> {
  const known = await store.getSchedule(name);
  if (!known) throw noSuchSchedule(name);
  const cadence = await cadenceOf(known);
  const row = known.paused === 0 ? known : await store.setSchedulePaused(name, false, cadence.next(now), now);
  if (!row) throw noSuchSchedule(name);
  return scheduleOf(store, row, cadence);
}

function noSuchSchedule(name: string): UsageError {
  return new UsageError(`no schedule is named '${name}' (usergen schedules lists them)`);
}

async function scheduleOf(store: JobStore, row: ScheduleRow, cadence: Cadence): Promise<Schedule> {
  const last = row.last_job_id === null ? undefined : await store.getJob(row.last_job_id);
  return {
    name: row.name,
    task: row.task,
    payload: JSON.parse(row.payload),
    cadence: cadence.label,
    every_ms: row.every_ms,
    cron: row.cron,
    timezone: row.timezone,
    catch_up: row.catch_up,
    overlap: row.overlap === 1,
    priority: row.priority,
    max_attempts: row.max_attempts,
    paused: row.paused === 1,
    next_run_at: row.next_run_at,
    last_slot: row.last_slot,
    last_job_id: row.last_job_id,
    last_job_state: last?.state ?? null,
    last_fired_at: row.last_fired_at,
    skipped: row.skipped,
  };
}
