import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { HOUR, openScheduleTest, refusal, type ScheduleTest, tick } from './schedule-helpers.js';

// Schedules kept in the database, before any worker fires them: saving one (again, under the same
// name), listing and removing them, and what is refused, with nothing saved. Firing them is
// schedule-firing.test.ts.

describe.each(ENGINES)('saving, listing and removing schedules on $name', (engine) => {
  /** This test's queue and database. */
  let t: ScheduleTest;
  beforeEach(async () => {
    t = await openScheduleTest(engine);
  });
  afterEach(() => t.close());

  it('saving again under the same name updates the one row, keeping its next slot, its skips and its pause when the cadence is the same', async () => {
    const { queue, db, scheduleCount } = t;
    const before = Date.now();
    const saved = await queue.schedule('nightly', tick, { n: 1 }, { every: '1h' });
    expect(saved).toMatchObject({
      name: 'nightly',
      task: 'tick',
      payload: { n: 1 },
      cadence: 'every 1h',
      every_ms: HOUR,
      catch_up: 'latest',
      overlap: false,
    });
    // The top of the next hour (UTC).
    expect(saved.next_run_at % HOUR).toBe(0);
    expect(saved.next_run_at).toBeGreaterThan(before);
    expect(saved.next_run_at).toBeLessThanOrEqual(Date.now() + HOUR);
    // Another client moves it on and counts skips, as a worker would have.
    const later = saved.next_run_at + 2 * HOUR;
    await db.run('update schedules set next_run_at = ?, skipped = 4 where name = ?', later, 'nightly');
    await queue.pauseSchedule('nightly');

    const updated = await queue.schedule('nightly', tick, { n: 2 }, { every: HOUR, catchUp: 'all', overlap: true, priority: 5, maxAttempts: 1 });
    expect(updated).toMatchObject({
      payload: { n: 2 },
      catch_up: 'all',
      overlap: true,
      priority: 5,
      max_attempts: 1,
      next_run_at: later,
      skipped: 4,
      paused: true,
    });
    expect(await scheduleCount()).toBe(1);
    expect(await queue.schedules()).toEqual([updated]);

    // Another cadence starts from its own next slot.
    const recadenced = await queue.schedule('nightly', tick, { n: 2 }, { cron: '0 3 * * *', timezone: 'Europe/Berlin' });
    expect(recadenced).toMatchObject({
      cadence: "on cron '0 3 * * *' in Europe/Berlin",
      every_ms: null,
      cron: '0 3 * * *',
      timezone: 'Europe/Berlin',
    });
    expect(recadenced.next_run_at).toBeGreaterThan(Date.now());
    expect(recadenced.next_run_at).toBeLessThanOrEqual(Date.now() + 25 * HOUR);
    expect(await scheduleCount()).toBe(1);
  });

  it('lists by name; unschedule removes one, and refuses a name there is none of', async () => {
    const { queue } = t;
    await queue.schedule('b-second', tick, { n: 2 }, { every: '1m' });
    await queue.schedule('a-first', tick, { n: 1 }, { every: '1m' });
    expect((await queue.schedules()).map((schedule) => schedule.name)).toEqual(['a-first', 'b-second']);
    await queue.unschedule('a-first');
    expect((await queue.schedules()).map((schedule) => schedule.name)).toEqual(['b-second']);
    expect(await refusal(() => queue.unschedule('a-first'))).toBe("no schedule is named 'a-first' (usergen schedules lists them)");
    expect(await refusal(() => queue.pauseSchedule('a-first'))).toMatch(/^no schedule is named 'a-first'/);
    expect(await refusal(() => queue.resumeSchedule('a-first'))).toMatch(/^no schedule is named 'a-first'/);
  });

  it('refuses a wrong payload, a bad name, a bad catch-up or cadence with a UsageError of one line, and saves nothing', async () => {
    const { queue, scheduleCount } = t;
    const wrongPayload = { n: 'one' } as unknown as { n: number };
    expect(await refusal(() => queue.schedule('nightly', tick, wrongPayload, { every: '1h' }))).toBe('invalid payload for tick: n must be a number');
    for (const name of ['', 'has space', '-leading-dash', 'x'.repeat(101), 'slash/in/it']) {
      expect(await refusal(() => queue.schedule(name, tick, { n: 1 }, { every: '1h' }))).toMatch(/^a schedule's name is 1 to 100 letters/);
    }
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { every: '1h', catchUp: 'some' as never }))).toBe(
      "catchUp must be one of none, latest, all, got 'some'",
    );
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { every: '500ms' }))).toBe("every must be at least 1000ms, got '500ms'");
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { every: 999 }))).toMatch(/at least 1000, got 999$/);
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { cron: 'every day' }))).toBe("not a valid cron expression: 'every day'");
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { cron: '0 3 * * *', timezone: 'Nowhere/Atlantis' }))).toMatch(
      /^not a known time zone/,
    );
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { every: '1h', cron: '0 3 * * *' } as never))).toBe(
      'a schedule needs exactly one of every or cron',
    );
    expect(await refusal(() => queue.schedule('nightly', tick, { n: 1 }, { every: '1h', maxAttempts: 0 }))).toMatch(
      /^maxAttempts must be an integer/,
    );
    expect(await scheduleCount()).toBe(0);
  });

  it('a refused update leaves the saved schedule as it was', async () => {
    const { queue } = t;
    const saved = await queue.schedule('nightly', tick, { n: 1 }, { every: '1h' });
    await refusal(() => queue.schedule('nightly', tick, { n: 'two' } as unknown as { n: number }, { every: '1m' }));
    await refusal(() => queue.schedule('nightly', tick, { n: 2 }, { every: '1m', catchUp: 'every' as never }));
    expect(await queue.schedules()).toEqual([saved]);
  });
});
