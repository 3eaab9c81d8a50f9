import { UsageError } from '../errors.js';

/** When a periodic job runs: `next(t)` is the first run time after `t` (ms since the epoch). */
export interface Cadence {
  readonly label: string;
  /** The usual time between runs. */
  readonly periodMs: number;
  next(after: number): number;
  /** The start of the slot `time` falls in. */
  slotOf(time: number): number;
}

/** Every `periodMs`, aligned to the clock (UTC): `1h` runs at the top of each hour. */
export function everyCadence(periodMs: number, label: string): Cadence {
  return {
    label: `every ${label}`,
    periodMs,
    next: (after) => (Math.floor(after / periodMs) + 1) * periodMs,
    slotOf: (time) => Math.floor(time / periodMs) * periodMs,
  };
}

/** The run times of a cron expression (five fields, or six with seconds first), from node-cron; a UsageError says why one is refused. */
export async function cronCadence(expression: string): Promise<Cadence> {
  const cron = await import('node-cron');
  if (!cron.validate(expression)) throw new UsageError(`not a valid cron expression: '${expression}'`);
  const task = cron.createTask(expression, () => {});
  const runsAfter = (after: number, count: number) =>
    task
      .getNextRuns(count + 2)
      .map((date) => date.getTime())
      .filter((time) => time > after)
      .slice(0, count);
  const [first, second] = runsAfter(Date.now(), 2);
  if (first === undefined || second === undefined) throw new UsageError(`'${expression}' never runs`);
  const periodMs = second - first;
  return {
    label: `on cron '${expression}'`,
    periodMs,
    next: (after) => runsAfter(after, 1)[0] ?? after + periodMs,
    slotOf: (time) => (runsAfter(time, 1)[0] ?? time + periodMs) - periodMs,
  };
}

/** The unique key of `task`'s job for the slot starting at `slot`: one job per slot, ever. */
export function slotKey(task: string, slot: number): string {
  return `${task}@${new Date(slot).toISOString()}`;
}
