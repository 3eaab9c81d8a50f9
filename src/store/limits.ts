import type { TaskSettingsRow } from './schema.js';

// Limits that hold across every worker on a database, as each engine's claim applies them inside
// its own transaction (SQLite's write lock; on PostgreSQL an advisory lock per limited task, so
// two workers never count the same free share). What they mean and how they are set is the
// queue's (src/queue/limits.ts); the arithmetic every engine does alike is here.

export interface TaskLimits {
  /** Jobs of the task running at once, across every worker. */
  concurrency?: number | undefined;
  /** At most `max` starts in any window of `perMs`. */
  rate?: { max: number; perMs: number } | undefined;
  /** Jobs running at once per group key (jobs without one are in no group). */
  groupConcurrency?: number | undefined;
}

export function hasLimits(limits: TaskLimits | undefined): limits is TaskLimits {
  return limits !== undefined && (limits.concurrency !== undefined || limits.rate !== undefined || limits.groupConcurrency !== undefined);
}

/** The limits stored in a task's settings row, or undefined when none were set there (the definition's hold). */
export function storedLimits(
  row: Pick<TaskSettingsRow, 'limits_set_at' | 'limit_concurrency' | 'limit_rate_max' | 'limit_rate_per_ms' | 'limit_group_concurrency'>,
): TaskLimits | undefined {
  if (row.limits_set_at === null) return undefined;
  return {
    concurrency: row.limit_concurrency ?? undefined,
    rate:
      row.limit_rate_max === null || row.limit_rate_per_ms === null ? undefined : { max: row.limit_rate_max, perMs: Number(row.limit_rate_per_ms) },
    groupConcurrency: row.limit_group_concurrency ?? undefined,
  };
}

/**
 * The limits of each task a claim may take, among `tasks`: those stored in the database where
 * set (they replace the definition's, so that every worker obeys the same numbers), else the
 * worker's definition's. Tasks without limits are left out.
 */
export function limitsOf(
  tasks: readonly string[],
  defined: Readonly<Record<string, TaskLimits>> | undefined,
  rows: ReadonlyArray<Parameters<typeof storedLimits>[0] & { task: string }>,
): Map<string, TaskLimits> {
  const limited = new Map<string, TaskLimits>();
  const stored = new Map(rows.map((row) => [row.task, storedLimits(row)]));
  for (const task of tasks) {
    const limits = stored.has(task) && stored.get(task) !== undefined ? stored.get(task) : defined?.[task];
    if (hasLimits(limits)) limited.set(task, limits);
  }
  return limited;
}

/** Ready jobs of limited tasks a claim left for their limits; `retryAt`: when a rate lets one start (undefined: an ending must free a share). */
export interface HeldBack {
  retryAt: number | undefined;
}

/** What is in use of a task's limits as a claim begins: its running jobs (in all, and per group key) and its starts in the rate's window. */
export interface LimitUse {
  running: number;
  runningByGroup: ReadonlyMap<string, number>;
  startsInWindow: number;
  /** The oldest of those starts. */
  oldestStart: number | null;
}

/** How many more of the task's jobs a claim may take: at most `wanted`, within each limit. */
export function allowance(limits: TaskLimits, use: LimitUse, wanted: number): number {
  let allowed = wanted;
  if (limits.concurrency !== undefined) allowed = Math.min(allowed, limits.concurrency - use.running);
  if (limits.rate !== undefined) allowed = Math.min(allowed, limits.rate.max - use.startsInWindow);
  return Math.max(0, allowed);
}

/** Whether the claim must read the task's jobs by group (its group limit), and how many each group may still start. */
export function groupRoom(limits: TaskLimits, use: LimitUse, group: string | null): number {
  if (limits.groupConcurrency === undefined || group === null) return Number.POSITIVE_INFINITY;
  return limits.groupConcurrency - (use.runningByGroup.get(group) ?? 0);
}

/**
 * The ready jobs a limited claim takes, from candidates in claim order: at most `allowed`, and at
 * most each group's room, served round-robin (every group's first job before any group's second),
 * so that one key's 10,000 jobs do not hold back another's 3.
 */
export function pickLimited<J extends { id: number; group_key: string | null }>(
  limits: TaskLimits,
  use: LimitUse,
  candidates: readonly J[],
  allowed: number,
): J[] {
  if (allowed <= 0) return [];
  if (limits.groupConcurrency === undefined) return candidates.slice(0, allowed);
  const taken = new Map<string, number>();
  const rounds: J[][] = [];
  for (const job of candidates) {
    const group = job.group_key;
    const count = group === null ? 0 : (taken.get(group) ?? 0);
    if (group !== null) {
      if (count >= groupRoom(limits, use, group)) continue;
      taken.set(group, count + 1);
    }
    const round = rounds[count] ?? [];
    round.push(job);
    rounds[count] = round;
  }
  return rounds.flat().slice(0, allowed);
}

/**
 * What a claim that took `taken` of the task's `ready` candidates (read up to `allowed`, or by
 * group) left for its limits: undefined when it left none; else when the rate lets the next one
 * start (undefined there: a job ending must free a share first).
 */
export function heldBackBy(limits: TaskLimits, use: LimitUse, taken: number, leftReady: boolean, now: number): HeldBack | undefined {
  if (!leftReady) return undefined;
  const rateFull = limits.rate !== undefined && use.startsInWindow + taken >= limits.rate.max;
  return { retryAt: rateFull ? (use.oldestStart ?? now) + limits.rate!.perMs : undefined };
}

/** Two held-back results as one: the earlier retry, if both have one. */
export function mergeHeldBack(a: HeldBack | undefined, b: HeldBack | undefined): HeldBack | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  if (a.retryAt === undefined || b.retryAt === undefined) return { retryAt: a.retryAt ?? b.retryAt };
  return { retryAt: Math.min(a.retryAt, b.retryAt) };
}
