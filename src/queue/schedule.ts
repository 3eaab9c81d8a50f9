import { UsageError } from '../errors.js';
import { durationLabel } from './duration.js';

/** When a schedule's jobs are due: its slots. Times in ms since the epoch. */
export interface Cadence {
  /** `every 1h`, `on cron '0 3 * * *' in Europe/Berlin`. */
  readonly label: string;
  /** The usual time between slots. */
  readonly periodMs: number;
  /** The first slot after `after`; Infinity when there is none. */
  next(after: number): number;
  /** The slot `time` falls in: the last one at or before it. */
  slotOf(time: number): number;
}

/** The shortest period a schedule may have. */
export const MIN_EVERY_MS = 1_000;

/** Every `periodMs`, aligned to the clock (UTC): `1h` is due at the top of each hour. */
export function everyCadence(periodMs: number, label = durationLabel(periodMs)): Cadence {
  if (!Number.isSafeInteger(periodMs) || periodMs < MIN_EVERY_MS) {
    throw new UsageError(`a schedule's period must be a whole number of ms, at least ${MIN_EVERY_MS}, got ${periodMs}`);
  }
  return {
    label: `every ${label}`,
    periodMs,
    next: (after) => (Math.floor(after / periodMs) + 1) * periodMs,
    slotOf: (time) => Math.floor(time / periodMs) * periodMs,
  };
}

/**
 * The slots of a cron expression (five fields, or six with seconds first) in `timezone` (an IANA
 * zone; UTC when not given). Across a change of the clocks it does what cron does: a slot in the
 * hour that is skipped is due once, as the clocks go forward; a slot in the hour that repeats is
 * due once, the first time. From croner, loaded when first needed.
 */
export async function cronCadence(expression: string, timezone?: string): Promise<Cadence> {
  if (timezone !== undefined) checkTimezone(timezone);
  const { Cron } = await import('croner');
  let cron: InstanceType<typeof Cron>;
  try {
    cron = new Cron(expression, { timezone, paused: true });
  } catch {
    throw new UsageError(`not a valid cron expression: '${expression}'`);
  }
  const [first, second] = cron.nextRuns(2, new Date());
  if (first === undefined || second === undefined) throw new UsageError(`'${expression}' is never due`);
  return {
    label: `on cron '${expression}'${timezone === undefined ? '' : ` in ${timezone}`}`,
    periodMs: second.getTime() - first.getTime(),
    next: (after) => cron.nextRun(new Date(after))?.getTime() ?? Number.POSITIVE_INFINITY,
    slotOf: (time) => cron.previousRuns(1, new Date(time + 1))[0]?.getTime() ?? Number.NEGATIVE_INFINITY,
  };
}

function checkTimezone(timezone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch {
    throw new UsageError(`not a known time zone: '${timezone}' (an IANA name, e.g. Europe/Berlin)`);
  }
}

/** The unique key of the job of schedule `name` for the slot at `slot`: one job per slot, ever. */
export function slotKey(name: string, slot: number): string {
  return `${name}@${new Date(slot).toISOString()}`;
}
