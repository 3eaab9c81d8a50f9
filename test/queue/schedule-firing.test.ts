import { once } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defineTask, type JobEvent, type Logger } from '../../src/index.js';
import { everyCadence, slotKey } from '../../src/queue/schedule.js';
import { saveSchedule } from '../../src/queue/schedules.js';
import { Worker } from '../../src/queue/worker.js';
import { ENGINES } from '../engines.js';
import { waitFor } from '../helpers.js';
import { asTick, HOUR, MINUTE, openScheduleTest, type ScheduleTest, SECOND, tick } from './schedule-helpers.js';

// Schedules kept in the database, fired by the workers: one job per slot however many workers
// fire, overlap, pause, resume and unschedule, the slots missed while no worker ran, a row that
// cannot be fired, and the workers that must not fire. Where a test shows that something does not
// happen, it waits for something that happens after it (a later slot's job of another schedule),
// not for a time. Saving and refusing them is schedule-saving.test.ts.

const other = defineTask({ name: 'other', maxAttempts: 1, validate: asTick, handler: async ({ n }) => n });

/** A task whose first job runs until `release()` (or its worker gives it up); the others return at once. */
function holdingTask() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let started!: () => void;
  const firstStarted = new Promise<void>((resolve) => (started = resolve));
  let first = true;
  const task = defineTask({
    name: 'hold',
    maxAttempts: 1,
    validate: asTick,
    async handler({ n }, { signal }) {
      if (first) {
        first = false;
        started();
        await Promise.race([released, once(signal, 'abort')]);
      }
      return n;
    },
  });
  return { task, firstStarted, release };
}

/** A worker's logger keeping its warn and error lines. */
function collectingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return { logger: { debug() {}, info() {}, warn: (line) => warnings.push(line), error: (line) => warnings.push(line) }, warnings };
}

/**
 * A period of 10 to 19 minutes whose newest slot is more than 90 s old and whose next one is more
 * than 30 s away at `now`. The newest missed slot is then past lateAfterMs (a minute) and no new
 * slot comes while the test runs, so which slots are missed does not depend on the moment the
 * worker fires.
 */
function periodAwayFromSlots(now: number): number {
  for (let minutes = 10; minutes < 20; minutes++) {
    const periodMs = minutes * MINUTE;
    const intoPeriod = now % periodMs;
    if (intoPeriod > 90 * SECOND && periodMs - intoPeriod > 30 * SECOND) return periodMs;
  }
  throw new Error(`no period of 10 to 19 minutes is away from its slots at ${new Date(now).toISOString()}`);
}

describe.each(ENGINES)('firing schedules on $name', (engine) => {
  /** This test's queue and database. */
  let t: ScheduleTest;
  beforeEach(async () => {
    t = await openScheduleTest(engine);
  });
  afterEach(() => t.close());

  describe('firing', () => {
    it('a worker fires an every-1s schedule: one job per slot, keyed name@ISO, run at its slot, each succeeding', async () => {
      const { queue, start, jobsOf } = t;
      const saved = await queue.schedule('each-second', tick, { n: 7 }, { every: '1s', priority: 3, maxAttempts: 2 });
      const first = saved.next_run_at;
      const worker = queue.worker({ tasks: [tick], concurrency: 2, pollMs: 50 });
      const succeeded: JobEvent[] = [];
      const threeDone = new Promise<void>((resolve) =>
        worker.on('succeeded', (event) => {
          if (succeeded.push(event) === 3) resolve();
        }),
      );
      const stop = start(worker);
      await threeDone;
      await stop();

      const jobs = await jobsOf('each-second');
      // A fourth slot may have come before the worker stopped: every slot up to the last has its one job.
      expect(jobs.length).toBeGreaterThanOrEqual(3);
      expect(jobs).toEqual(
        jobs.map((job, i) => ({
          id: job.id,
          unique_key: slotKey('each-second', first + i * SECOND),
          run_at: first + i * SECOND,
          state: i < 3 ? 'succeeded' : job.state,
          priority: 3,
          max_attempts: 2,
        })),
      );
      expect(succeeded.map((event) => ({ id: event.id, result: event.result }))).toEqual(jobs.slice(0, 3).map((job) => ({ id: job.id, result: 7 })));
      const [schedule] = await queue.schedules();
      expect(schedule).toMatchObject({
        last_slot: jobs.at(-1)!.run_at,
        last_job_id: jobs.at(-1)!.id,
        skipped: 0,
        next_run_at: jobs.at(-1)!.run_at + SECOND,
      });
    });

    it('two workers on two connections to the database still give each slot exactly one job', async () => {
      const { db, start, otherStore, jobsOf, scheduleRow } = t;
      const [storeA, storeB] = [await otherStore(), await otherStore()];
      const { logger, warnings } = collectingLogger();
      const saved = await saveSchedule(storeA, 'each-second', tick, { n: 1 }, { every: '1s' });
      const workers = [storeA, storeB].map((store) => new Worker(store, { tasks: [tick], concurrency: 2, pollMs: 50, logger }));
      const stops = workers.map(start);
      await waitFor(async () => (await db.count("select count(*) from jobs where state = 'succeeded'")) >= 3, 'three slots done');
      for (const stop of stops) await stop();

      const jobs = await jobsOf('each-second');
      expect(jobs.map((job) => job.unique_key)).toEqual(jobs.map((_, i) => slotKey('each-second', saved.next_run_at + i * SECOND)));
      expect(jobs.map((job) => job.run_at)).toEqual(jobs.map((_, i) => saved.next_run_at + i * SECOND));
      expect(await db.count('select count(*) from jobs')).toBe(jobs.length);
      // The worker that came second to a slot gave up quietly: no conflict, no failed fire.
      expect(warnings).toEqual([]);
      expect(await scheduleRow('each-second')).toMatchObject({ skipped: 0, next_run_at: jobs.at(-1)!.run_at + SECOND });
    });

    it('a row it cannot fire (broken by another client) is warned about once, naming it, and holds up none of the others', async () => {
      const { queue, db, start, jobsOf, scheduleRow, jobAfter } = t;
      await queue.schedule('broken', tick, { n: 1 }, { every: '1s' });
      const marker = await queue.schedule('marker', tick, { n: 2 }, { every: '1s' });
      // As another client, a cadence no usergen can read, due since before the marker's first slot.
      const brokenAt = Date.now() - 10 * SECOND;
      const broken = "update schedules set cron = 'not cron', every_ms = null, next_run_at = ? where name = ?";
      expect(await db.run(broken, brokenAt, 'broken')).toBe(1);
      const { logger, warnings } = collectingLogger();
      const stop = start(queue.worker({ tasks: [tick], concurrency: 2, pollMs: 50, logger }));
      await jobAfter('marker', marker.next_run_at, 'a second slot of the marker');
      await stop();
      expect((await jobsOf('marker')).length).toBeGreaterThanOrEqual(2);
      expect(await jobsOf('broken')).toEqual([]);
      expect((await scheduleRow('broken')).next_run_at).toBe(brokenAt);
      // Tried again on every round while the marker fired, and told once.
      expect(warnings).toEqual([expect.stringMatching(/^schedule broken: .*'not cron'/)]);
    });
  });

  describe('overlap', () => {
    it('false (the default): the slots that come while its job runs are skipped and counted; it fires again once the job is done', async () => {
      const { queue, db, start, jobsOf, scheduleRow } = t;
      const { task, firstStarted, release } = holdingTask();
      const saved = await queue.schedule('held', task, { n: 1 }, { every: '1s' });
      const stop = start(queue.worker({ tasks: [task], concurrency: 2, pollMs: 50, graceMs: SECOND }));
      await firstStarted;
      await waitFor(async () => (await scheduleRow('held')).skipped >= 2, 'two slots skipped');
      expect((await jobsOf('held')).map((job) => job.state)).toEqual(['running']);

      release();
      await waitFor(async () => (await db.count("select count(*) from jobs where state = 'succeeded'")) >= 2, 'the job after the hold done');
      await stop();
      const jobs = await jobsOf('held');
      const { skipped, next_run_at } = await scheduleRow('held');
      expect(jobs[0]!.run_at).toBe(saved.next_run_at);
      expect(skipped).toBeGreaterThanOrEqual(2);
      // Every slot up to the next one was either fired or skipped, never both.
      expect(jobs.length + skipped).toBe((next_run_at - saved.next_run_at) / SECOND);
    });

    it('true: the slots that come while its job runs are fired, none skipped', async () => {
      const { queue, start, jobsOf, scheduleRow } = t;
      const { task, firstStarted, release } = holdingTask();
      const saved = await queue.schedule('overlapping', task, { n: 1 }, { every: '1s', overlap: true });
      const stop = start(queue.worker({ tasks: [task], concurrency: 2, pollMs: 50, graceMs: SECOND }));
      await firstStarted;
      await waitFor(async () => (await jobsOf('overlapping')).length >= 3, 'two more slots fired');
      expect((await jobsOf('overlapping'))[0]!.state).toBe('running');

      release();
      await stop();
      const jobs = await jobsOf('overlapping');
      const { skipped, next_run_at } = await scheduleRow('overlapping');
      expect(skipped).toBe(0);
      expect(jobs.map((job) => job.run_at)).toEqual(jobs.map((_, i) => saved.next_run_at + i * SECOND));
      expect(next_run_at).toBe(jobs.at(-1)!.run_at + SECOND);
    });
  });

  describe('pause, resume and unschedule', () => {
    it('paused, no slot fires; resumed, it fires from the next slot on, and not the slots of the pause', async () => {
      const { queue, start, jobsOf, scheduleRow, jobAfter } = t;
      await queue.schedule('paused', tick, { n: 1 }, { every: '1s' });
      // Fired alongside, as what comes after the slots the paused one does not fire.
      await queue.schedule('marker', tick, { n: 2 }, { every: '1s' });
      const stop = start(queue.worker({ tasks: [tick], concurrency: 2, pollMs: 50 }));
      await jobAfter('paused', 0, 'a first job of the paused schedule');

      expect(await queue.pauseSchedule('paused')).toMatchObject({ paused: true });
      const pausedAt = Date.now();
      await jobAfter('marker', pausedAt + 2 * SECOND, 'two slots after the pause');
      expect((await jobsOf('paused')).filter((job) => job.run_at > pausedAt)).toEqual([]);
      expect((await queue.schedules()).map((schedule) => [schedule.name, schedule.paused])).toEqual([
        ['marker', false],
        ['paused', true],
      ]);

      const resuming = Date.now();
      const resumed = await queue.resumeSchedule('paused');
      const cadence = everyCadence(SECOND);
      expect(resumed.paused).toBe(false);
      expect([cadence.next(resuming), cadence.next(Date.now())]).toContain(resumed.next_run_at);
      await waitFor(
        async () => (await jobsOf('paused')).find((job) => job.run_at === resumed.next_run_at && job.state === 'succeeded'),
        'the first slot after the resume done',
      );
      await stop();
      const jobs = await jobsOf('paused');
      expect(jobs.filter((job) => job.run_at > pausedAt && job.run_at < resumed.next_run_at)).toEqual([]);
      // The slots of a pause are not skips: nothing was due.
      expect((await scheduleRow('paused')).skipped).toBe(0);
    });

    it('unscheduled, it fires no more; its jobs stay', async () => {
      const { queue, start, jobsOf, jobAfter } = t;
      await queue.schedule('removed', tick, { n: 1 }, { every: '1s' });
      await queue.schedule('marker', tick, { n: 2 }, { every: '1s' });
      const stop = start(queue.worker({ tasks: [tick], concurrency: 2, pollMs: 50 }));
      await jobAfter('removed', 0, 'a first job of the removed schedule');

      await queue.unschedule('removed');
      const removedAt = Date.now();
      // A slot of the removed schedule came strictly before this one.
      await jobAfter('marker', removedAt + SECOND, 'a slot after the one after the removal');
      await stop();
      const jobs = await jobsOf('removed');
      expect(jobs.length).toBeGreaterThanOrEqual(1);
      expect(jobs.filter((job) => job.run_at > removedAt)).toEqual([]);
      expect((await queue.schedules()).map((schedule) => schedule.name)).toEqual(['marker']);
    });
  });

  describe('the slots of an hour no worker ran', () => {
    it.each([
      ['latest', 'one job, for the newest missed slot; the others counted skipped'],
      ['none', 'no job; every missed slot counted skipped'],
      ['all', 'one job for each missed slot'],
    ] as const)('catch-up %s: %s', async (catchUp, _expected) => {
      const { queue, db, start, jobsOf, scheduleRow } = t;
      const periodMs = periodAwayFromSlots(Date.now());
      const saved = await queue.schedule('hourly-ish', tick, { n: 1 }, { every: periodMs, catchUp });
      const next = saved.next_run_at;
      const missed = Math.floor(HOUR / periodMs);
      // As another client, the schedule is put back an hour: its slots since then were never fired.
      expect(await db.run('update schedules set next_run_at = ? where name = ?', next - missed * periodMs, 'hourly-ish')).toBe(1);
      const missedSlots = Array.from({ length: missed }, (_, i) => next - (missed - i) * periodMs);

      const stop = start(queue.worker({ tasks: [tick], concurrency: 2, pollMs: 50 }));
      await waitFor(async () => (await scheduleRow('hourly-ish')).next_run_at === next, 'the schedule moved on to its next slot');
      const expected = { latest: missedSlots.slice(-1), none: [], all: missedSlots }[catchUp];
      await waitFor(
        async () => (await db.count("select count(*) from jobs where state = 'succeeded'")) === expected.length,
        `${expected.length} jobs done`,
      );
      await stop();
      expect((await jobsOf('hourly-ish')).map((job) => job.unique_key)).toEqual(expected.map((slot) => slotKey('hourly-ish', slot)));
      expect(await db.count('select count(*) from jobs')).toBe(expected.length);
      expect((await scheduleRow('hourly-ish')).skipped).toBe(missed - expected.length);
    });
  });

  describe('workers that do not fire', () => {
    it('a worker that does not run the task fires none of its schedules', async () => {
      const { queue, db, start, scheduleRow, jobAfter } = t;
      const orphan = await queue.schedule('orphan', other, { n: 1 }, { every: '1s' });
      await queue.schedule('marker', tick, { n: 2 }, { every: '1s' });
      const stop = start(queue.worker({ tasks: [tick], concurrency: 1, pollMs: 50 }));
      await jobAfter('marker', orphan.next_run_at, 'a slot after the first of the orphan schedule');
      await stop();
      expect(await db.count("select count(*) from jobs where task = 'other'")).toBe(0);
      expect(await scheduleRow('orphan')).toMatchObject({ next_run_at: orphan.next_run_at, skipped: 0, last_job_id: null });
    });

    it('a draining worker fires nothing, even a slot already due; a worker that stays fires it', async () => {
      const { queue, db, start, jobsOf, scheduleRow } = t;
      await queue.schedule('due', tick, { n: 1 }, { every: '1s' });
      const dueAt = Date.now() - 10 * SECOND - (Date.now() % SECOND);
      await db.run('update schedules set next_run_at = ? where name = ?', dueAt, 'due');
      const direct = await queue.enqueue(tick, { n: 2 });

      // Had it fired, it would have done so before its run returned: a stopping fire loop finishes its round.
      expect(await queue.worker({ tasks: [tick], concurrency: 1, drain: true }).run()).toMatchObject({ succeeded: 1 });
      expect((await db.all<{ id: number }>('select id from jobs')).map((job) => job.id)).toEqual([direct.id]);
      expect((await scheduleRow('due')).next_run_at).toBe(dueAt);

      const stop = start(queue.worker({ tasks: [tick], concurrency: 1, pollMs: 50 }));
      await waitFor(async () => (await scheduleRow('due')).next_run_at > dueAt, 'the due slot fired');
      await stop();
      expect((await jobsOf('due')).length).toBeGreaterThanOrEqual(1);
    });
  });
});
