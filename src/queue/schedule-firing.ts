import { toError } from '../errors.js';
import type { JobRow, ScheduleRow } from '../store/schema.js';
import type { JobStore, NewJobSpec } from '../store/store.js';
import { sleepUntil } from './delay.js';
import type { Cadence } from './schedule.js';
import { slotKey } from './schedule.js';
import { cadenceOf } from './schedules.js';
import { jobSpec, type TaskDefinition } from './task.js';
import type { Logger } from './worker-types.js';

// Firing schedules: each worker that knows a schedule's task enqueues its due slots. However many
// workers and machines do so at once, a slot gets one job: its job has the slot's unique key, and
// the schedule is moved on from the slot it was at in the same transaction (compare and set), so a
// second worker finds the slot taken and its transaction rolled back.

/** At most this many slots are fired in one transaction (catch-up `all` after a long stop); the rest follow at once. */
const MAX_SLOTS_PER_FIRE = 1_000;

/** How late a slot may be fired before it counts as missed: one period, at least 5 s, at most a minute. */
export function lateAfterMs(cadence: Cadence): number {
  return Math.min(Math.max(cadence.periodMs, 5_000), 60_000);
}

/** What firing a schedule at `now` does: the slots to fire, how many are skipped, and the slot it goes on from. */
export interface FirePlan {
  fire: number[];
  skipped: number;
  next: number;
}

/**
 * The due slots of `row` at `now`. Those on time (see lateAfterMs) fire; of those missed, `all`
 * fires each, `latest` the newest one unless an on-time slot fires, `none` nothing.
 */
export function planFire(cadence: Cadence, row: Pick<ScheduleRow, 'next_run_at' | 'catch_up'>, now: number): FirePlan {
  const onTimeFrom = now - lateAfterMs(cadence);
  let slot = row.next_run_at;
  let skipped = 0;
  let newestMissed: number | undefined;
  if (row.catch_up !== 'all' && slot < onTimeFrom) {
    // The missed slots, passed over without listing them one by one (a week of a 1s schedule);
    // counted exactly for `every`, about for a cron expression.
    const newest = cadence.slotOf(onTimeFrom - 1);
    if (newest >= slot) {
      newestMissed = newest;
      skipped = Math.round((newest - slot) / cadence.periodMs) + 1;
      slot = cadence.next(newest);
    }
  }
  const fire: number[] = [];
  while (slot <= now && fire.length < MAX_SLOTS_PER_FIRE) {
    fire.push(slot);
    slot = cadence.next(slot);
  }
  if (row.catch_up === 'latest' && fire.length === 0 && newestMissed !== undefined) {
    fire.push(newestMissed);
    skipped -= 1;
  }
  // A cron expression with no slot left (a year field) is never due again.
  return { fire, skipped, next: Number.isFinite(slot) ? slot : Number.MAX_SAFE_INTEGER };
}

/** A schedule moved on by another worker between the read and the write. */
class Overtaken extends Error {}

/**
 * Fires the due slots of one schedule whose task is `task`: enqueues their jobs and moves the
 * schedule on, in one transaction. Returns the jobs enqueued (none when another worker was first).
 */
export async function fireSchedule(store: JobStore, task: TaskDefinition, row: ScheduleRow, now: number, log: Logger): Promise<JobRow[]> {
  const plan = planFire(await cadenceOf(row), row, now);
  let spec: NewJobSpec | undefined;
  try {
    spec = { ...jobSpec(task, JSON.parse(row.payload), { priority: row.priority }), maxAttempts: row.max_attempts ?? task.maxAttempts };
  } catch (error) {
    log.warn(`schedule ${row.name}: task ${task.name} refuses its payload (${toError(error).message}): its slots are skipped`);
  }
  try {
    return await store.transaction(async (tx) => {
      const jobs: JobRow[] = [];
      let { fire, skipped } = plan;
      const last = row.overlap === 0 && row.last_job_id !== null && fire.length > 0 ? await tx.getJob(row.last_job_id) : undefined;
      if (!spec || last?.state === 'queued' || last?.state === 'running') {
        skipped += fire.length;
        fire = [];
      }
      for (const slot of fire) {
        const job = await tx.enqueueUnique({ ...spec!, runAt: slot, uniqueKey: slotKey(row.name, slot) });
        if (job) jobs.push(job);
      }
      const advance = { next_run_at: plan.next, last_slot: fire.at(-1), last_job_id: jobs.at(-1)?.id, fired_at: now, skipped };
      if (!(await tx.advanceSchedule(row.name, row.next_run_at, advance))) throw new Overtaken();
      return jobs;
    });
  } catch (error) {
    if (error instanceof Overtaken) return [];
    throw error;
  }
}

/**
 * Fires, until stopped, the schedules of the tasks a worker knows: it reads when the next slot is
 * (one indexed read every `pollMs` at most, so a schedule saved meanwhile by another process is
 * seen within a poll), sleeps until then, and fires what is due.
 */
export function fireSchedules(store: JobStore, tasks: ReadonlyMap<string, TaskDefinition>, pollMs: number, log: Logger): () => Promise<void> {
  const stopping = new AbortController();
  const names = [...tasks.keys()];
  /** The schedules that could not be fired, and why, each told once (until it fires again). */
  const failing = new Map<string, string>();
  const fireDue = async (): Promise<boolean> => {
    let allFired = true;
    for (const row of await store.dueSchedules(names, Date.now())) {
      try {
        const jobs = await fireSchedule(store, tasks.get(row.task)!, row, Date.now(), log);
        failing.delete(row.name);
        for (const job of jobs) log.info(`Schedule ${row.name}: queued job ${job.id} for ${new Date(job.run_at).toISOString()}`);
      } catch (error) {
        // One schedule that cannot be fired (a row this usergen cannot read, a database fault)
        // holds up none of the others.
        allFired = false;
        const message = toError(error).message;
        if (failing.get(row.name) !== message) log.warn(`schedule ${row.name}: could not fire its slot (${message}); trying again`);
        failing.set(row.name, message);
      }
    }
    return allFired;
  };
  let unread: string | undefined;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      let wakeAt = Date.now() + pollMs;
      try {
        const next = await store.nextScheduleAt(names);
        if (next !== undefined && next <= Date.now()) {
          if (await fireDue()) continue;
        } else if (next !== undefined) {
          wakeAt = Math.min(wakeAt, next);
        }
        unread = undefined;
      } catch (error) {
        // The database busy, full or out of reach: the slots are fired once it answers again.
        const message = toError(error).message;
        if (unread !== message) log.warn(`could not read the schedules (${message}); trying again every ${pollMs} ms`);
        unread = message;
      }
      await sleepUntil(wakeAt, stopping.signal);
    }
  })();
  return async () => {
    stopping.abort();
    await loop;
  };
}
