import { describe, expect, it } from 'vitest';
import { lateAfterMs, planFire } from '../../src/queue/schedule-firing.js';
import { type Cadence, cronCadence, everyCadence, slotKey } from '../../src/queue/schedule.js';
import type { CatchUp } from '../../src/store/schema.js';
import { refusal } from './schedule-helpers.js';

// Which slots a schedule fires, without a database: planFire on its cadence and the row's next
// slot, and the cadences themselves (clock-aligned periods, cron across the clock changes).

const SECOND = 1_000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();
const plan = (cadence: Cadence, nextRunAt: number, catchUp: CatchUp, now: number) =>
  planFire(cadence, { next_run_at: nextRunAt, catch_up: catchUp }, now);

/** `cadence`, counting the calls planFire makes on it: how much work a plan took, without timing it. */
function counted(cadence: Cadence): { cadence: Cadence; calls: () => number } {
  let calls = 0;
  return {
    cadence: {
      ...cadence,
      next(after) {
        calls += 1;
        return cadence.next(after);
      },
      slotOf(time) {
        calls += 1;
        return cadence.slotOf(time);
      },
    },
    calls: () => calls,
  };
}

/** The slots of `cadence` from `from` (exclusive) for `count` slots. */
function slotsAfter(cadence: Cadence, from: number, count: number): number[] {
  const slots: number[] = [];
  for (let slot = cadence.next(from); slots.length < count; slot = cadence.next(slot)) slots.push(slot);
  return slots;
}

describe('planFire', () => {
  const hourly = everyCadence(HOUR);

  describe('every 1h, its next slot an hour and a half ago (09:00 and 10:00 missed at 10:30)', () => {
    const now = at('2030-01-01T10:30:00Z');
    const nextRunAt = at('2030-01-01T09:00:00Z');

    it('latest: one job, for the newest missed slot; the other is counted skipped', () => {
      expect(plan(hourly, nextRunAt, 'latest', now)).toEqual({ fire: [at('2030-01-01T10:00:00Z')], skipped: 1, next: at('2030-01-01T11:00:00Z') });
    });

    it('none: no job; both are counted skipped', () => {
      expect(plan(hourly, nextRunAt, 'none', now)).toEqual({ fire: [], skipped: 2, next: at('2030-01-01T11:00:00Z') });
    });

    it('all: one job for each missed slot, oldest first', () => {
      expect(plan(hourly, nextRunAt, 'all', now)).toEqual({
        fire: [at('2030-01-01T09:00:00Z'), at('2030-01-01T10:00:00Z')],
        skipped: 0,
        next: at('2030-01-01T11:00:00Z'),
      });
    });
  });

  it.each(['none', 'latest', 'all'] as const)(
    'a slot just due fires with catch-up %s, and the schedule goes on from the slot after it',
    (catchUp) => {
      const slot = at('2030-01-01T10:00:00Z');
      expect(plan(hourly, slot, catchUp, slot)).toEqual({ fire: [slot], skipped: 0, next: slot + HOUR });
      // Late by less than lateAfterMs (a minute, for an hourly schedule) is still on time.
      expect(lateAfterMs(hourly)).toBe(MINUTE);
      expect(plan(hourly, slot, catchUp, slot + MINUTE - 1)).toEqual({ fire: [slot], skipped: 0, next: slot + HOUR });
    },
  );

  it('latest, with missed slots and an on-time one: only the on-time slot fires, the missed ones are skipped', () => {
    const now = at('2030-01-01T10:00:10Z');
    expect(plan(hourly, at('2030-01-01T08:00:00Z'), 'latest', now)).toEqual({
      fire: [at('2030-01-01T10:00:00Z')],
      skipped: 2,
      next: at('2030-01-01T11:00:00Z'),
    });
  });

  it('not yet due: nothing fires, nothing is skipped, the next slot is unchanged', () => {
    const slot = at('2030-01-01T10:00:00Z');
    expect(plan(hourly, slot, 'latest', slot - 1)).toEqual({ fire: [], skipped: 0, next: slot });
  });

  it.each(['none', 'latest', 'all'] as const)('catch-up %s goes on from the first slot after now', (catchUp) => {
    for (const now of [at('2030-01-01T10:30:00Z'), at('2030-01-01T10:00:00Z'), at('2030-01-03T07:59:59.999Z')]) {
      expect(plan(hourly, at('2030-01-01T03:00:00Z'), catchUp, now).next).toBe(hourly.next(now));
    }
  });

  describe('a week-long stop of an every-1s schedule', () => {
    const everySecond = everyCadence(SECOND);
    const now = at('2030-01-08T00:00:00.400Z');
    const nextRunAt = at('2030-01-01T00:00:00Z');
    // The slots from nextRunAt to now, both ends included.
    const due = 7 * 24 * 3_600 + 1;
    // The slots at most lateAfterMs (5 s for a 1s period) before now are on time, not missed.
    const onTime = slotsAfter(everySecond, now - lateAfterMs(everySecond) - 1, 5);

    it('latest: the missed slots are passed over without being listed one by one', () => {
      const { cadence, calls } = counted(everySecond);
      const { fire, skipped, next } = plan(cadence, nextRunAt, 'latest', now);
      expect(lateAfterMs(everySecond)).toBe(5 * SECOND);
      // An on-time slot fires, so the newest missed one does not: the jobs are those of the last 5 s.
      expect(fire.map(iso)).toEqual(onTime.map(iso));
      expect(skipped).toBe(due - onTime.length);
      expect(next).toBe(everySecond.next(now));
      expect(calls()).toBeLessThan(20);
    });

    it('none: the same slots on time fire, the week is skipped', () => {
      const { fire, skipped } = plan(everySecond, nextRunAt, 'none', now);
      expect(fire).toEqual(onTime);
      expect(skipped).toBe(due - onTime.length);
    });

    it('all: a thousand slots, the oldest, in one fire; the schedule goes on from the next one', () => {
      const { fire, skipped, next } = plan(everySecond, nextRunAt, 'all', now);
      expect(fire).toHaveLength(1_000);
      expect(fire[0]).toBe(nextRunAt);
      expect(fire.at(-1)).toBe(nextRunAt + 999 * SECOND);
      expect(skipped).toBe(0);
      expect(next).toBe(nextRunAt + 1_000 * SECOND);
    });
  });

  it('a slot of a one-day schedule missed by an hour, caught up with latest, counts as missed (lateAfterMs is at most a minute)', () => {
    const daily = everyCadence(DAY);
    expect(lateAfterMs(daily)).toBe(MINUTE);
    const slot = at('2030-01-02T00:00:00Z');
    expect(plan(daily, slot, 'none', slot + HOUR)).toEqual({ fire: [], skipped: 1, next: slot + DAY });
    expect(plan(daily, slot, 'latest', slot + HOUR)).toEqual({ fire: [slot], skipped: 0, next: slot + DAY });
  });
});

describe('everyCadence', () => {
  it('is aligned to the clock (UTC): next is strictly after, slotOf at or before', () => {
    const hourly = everyCadence(HOUR);
    expect(hourly.label).toBe('every 1h');
    expect(iso(hourly.next(at('2030-01-01T10:00:00Z')))).toBe('2030-01-01T11:00:00.000Z');
    expect(iso(hourly.next(at('2030-01-01T10:59:59.999Z')))).toBe('2030-01-01T11:00:00.000Z');
    expect(iso(hourly.slotOf(at('2030-01-01T10:00:00Z')))).toBe('2030-01-01T10:00:00.000Z');
    expect(iso(hourly.slotOf(at('2030-01-01T10:59:59.999Z')))).toBe('2030-01-01T10:00:00.000Z');
  });

  it('refuses a period below 1s', async () => {
    expect(await refusal(() => everyCadence(999))).toMatch(/at least 1000/);
    expect(await refusal(() => everyCadence(1_500.5))).toMatch(/whole number/);
  });
});

describe('cronCadence in Europe/Berlin, across the clock changes of 2027', () => {
  it("'30 2 * * *', spring forward (28 March, 02:00 -> 03:00): the 02:30 that does not exist is due once, at 03:00 local (01:00Z)", async () => {
    const cadence = await cronCadence('30 2 * * *', 'Europe/Berlin');
    expect(cadence.label).toBe("on cron '30 2 * * *' in Europe/Berlin");
    expect(slotsAfter(cadence, at('2027-03-26T12:00:00Z'), 4).map(iso)).toEqual([
      '2027-03-27T01:30:00.000Z', // 02:30 CET
      '2027-03-28T01:00:00.000Z', // 03:00 CEST, as the clocks go forward
      '2027-03-29T00:30:00.000Z', // 02:30 CEST
      '2027-03-30T00:30:00.000Z',
    ]);
  });

  it("'30 2 * * *', fall back (31 October, 03:00 -> 02:00): the 02:30 that comes twice is due once, the first time (00:30Z)", async () => {
    const cadence = await cronCadence('30 2 * * *', 'Europe/Berlin');
    expect(slotsAfter(cadence, at('2027-10-29T12:00:00Z'), 4).map(iso)).toEqual([
      '2027-10-30T00:30:00.000Z', // 02:30 CEST
      '2027-10-31T00:30:00.000Z', // the first 02:30, CEST; not the second at 01:30Z
      '2027-11-01T01:30:00.000Z', // 02:30 CET
      '2027-11-02T01:30:00.000Z',
    ]);
  });

  it.each([
    ['spring forward', '2027-03-27T23:00:00Z', 23],
    ['fall back', '2027-10-30T22:00:00Z', 25],
  ])("'0 * * * *' across %s: one slot per real hour, none twice, none left out", async (_change, from, localHours) => {
    const cadence = await cronCadence('0 * * * *', 'Europe/Berlin');
    // The Berlin day of the change, midnight to midnight, has 23 or 25 real hours.
    const start = at(from);
    const slots = slotsAfter(cadence, start - 1, localHours + 1);
    expect(slots).toEqual(Array.from({ length: localHours + 1 }, (_, hour) => start + hour * HOUR));
    const midnight = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Berlin', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    expect(midnight.format(slots[0])).toBe('00:00');
    expect(midnight.format(slots.at(-1))).toBe('00:00');
  });

  it('slotOf and next agree: the slot of a slot is itself, and a time between slots belongs to the one before', async () => {
    const cadences = [await cronCadence('30 2 * * *', 'Europe/Berlin'), await cronCadence('0 * * * *', 'Europe/Berlin'), everyCadence(10 * MINUTE)];
    const starts = ['2027-03-27T20:00:00Z', '2027-10-30T20:00:00Z', '2027-06-15T12:34:56.789Z'].map(at);
    for (const cadence of cadences) {
      for (const start of starts) {
        for (let t = start, i = 0; i < 30; i++) {
          const next = cadence.next(t);
          expect(next, `${cadence.label} after ${iso(t)}`).toBeGreaterThan(t);
          expect(iso(cadence.slotOf(next)), `${cadence.label}: slotOf(next(${iso(t)}))`).toBe(iso(next));
          expect(iso(cadence.slotOf(next - 1)), `${cadence.label}: just before ${iso(next)}`).toBe(iso(cadence.slotOf(t)));
          t = next;
        }
      }
    }
  });

  it('without a timezone, the slots are UTC', async () => {
    const cadence = await cronCadence('30 2 * * *');
    expect(cadence.label).toBe("on cron '30 2 * * *'");
    expect(iso(cadence.next(at('2027-03-27T12:00:00Z')))).toBe('2027-03-28T02:30:00.000Z');
  });

  it('refuses an invalid cron expression, an unknown time zone, and an expression that is never due', async () => {
    expect(await refusal(() => cronCadence('every day'))).toBe("not a valid cron expression: 'every day'");
    expect(await refusal(() => cronCadence('61 * * * *'))).toBe("not a valid cron expression: '61 * * * *'");
    expect(await refusal(() => cronCadence('0 * * * *', 'Mars/Olympus_Mons'))).toMatch(/^not a known time zone: 'Mars\/Olympus_Mons'/);
    expect(await refusal(() => cronCadence('0 0 30 2 *'))).toBe("'0 0 30 2 *' is never due");
  });
});

describe('slotKey', () => {
  it('is the name and the slot in ISO form, to the millisecond', () => {
    expect(slotKey('nightly', at('2027-03-28T01:00:00Z'))).toBe('nightly@2027-03-28T01:00:00.000Z');
  });
});
