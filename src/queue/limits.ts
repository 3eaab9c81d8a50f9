import { UsageError } from '../errors.js';
import { formatInteger } from '../format.js';
import { hasLimits, storedLimits, type TaskLimits } from '../store/limits.js';
import type { JobStore } from '../store/store.js';
import { durationLabel, parseDuration } from './duration.js';

// Limits that hold across every worker on the database: a task's jobs running at once, its starts
// in any window, its jobs running at once per group key. A task's definition gives them; set from
// the CLI or the library (usergen limit, queue.setLimits), they are kept in the database and replace
// the definition's on every worker at its next claim, until cleared. Each engine's claim applies
// them in its own transaction (src/store/limits.ts), so they are exact, not per worker.

export type { TaskLimits } from '../store/limits.js';

/** A rate: `{ max: 5, perMs: 1000 }`, or `'5/1s'`. */
export type RateLimit = { max: number; perMs: number } | string;

/** What `defineTask({ limits })` takes. */
export interface LimitsSpec<P> {
  /** Jobs of the task running at once, across every worker. */
  concurrency?: number;
  /** At most `max` starts in any window of `perMs`. */
  rate?: RateLimit;
  /** Jobs running at once per key, the key computed from each job's payload at enqueue (and kept with the job). */
  group?: { key: (payload: P) => string; concurrency: number };
}

/**
 * What `queue.setLimits` takes: each limit, null for none, or left out to keep what the database
 * holds (none, the first time: from then on these replace all of the definition's limits). The
 * group key stays the definition's.
 */
export interface LimitsChange {
  concurrency?: number | null;
  rate?: RateLimit | null;
  groupConcurrency?: number | null;
}

const MAX_LIMIT = 1_000_000;

function count(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1 || value > MAX_LIMIT) {
    throw new UsageError(`${what} must be a whole number from 1 to ${MAX_LIMIT}, got ${JSON.stringify(value) ?? String(value)}`);
  }
  return value;
}

/** `5/1s`, `100/1m`, or `{ max, perMs }`. */
export function parseRate(rate: RateLimit, what: string): { max: number; perMs: number } {
  if (typeof rate === 'string') {
    const match = /^(\d+)\/(\S+)$/.exec(rate.trim());
    if (match === null) throw new UsageError(`${what} must be like 5/1s (at most 5 starts in any 1 s), got '${rate}'`);
    return { max: count(Number(match[1]), `${what}'s count`), perMs: parseDuration(match[2]!, `${what}'s window`, 1) };
  }
  if (typeof rate !== 'object' || rate === null) throw new UsageError(`${what} must be like '5/1s' or { max: 5, perMs: 1000 }`);
  const perMs = rate.perMs;
  if (typeof perMs !== 'number' || !Number.isSafeInteger(perMs) || perMs < 1 || perMs > 86_400_000 * 366) {
    throw new UsageError(`${what}.perMs must be a whole number of ms from 1 to a year, got ${JSON.stringify(perMs) ?? String(perMs)}`);
  }
  return { max: count(rate.max, `${what}.max`), perMs };
}

/** A definition's limits, checked; and the function that gives a job its group key, if the task has a group limit. */
export function parseLimits<P>(
  spec: LimitsSpec<P> | undefined,
  what: string,
): { limits: TaskLimits; groupKey: ((payload: P) => string) | undefined } {
  if (spec === undefined) return { limits: {}, groupKey: undefined };
  if (typeof spec !== 'object' || spec === null) throw new UsageError(`${what} must be an object: { concurrency, rate, group }`);
  const { concurrency, rate, group } = spec;
  if (group !== undefined && (typeof group !== 'object' || group === null || typeof group.key !== 'function')) {
    throw new UsageError(`${what}.group must be { key: (payload) => string, concurrency }`);
  }
  return {
    limits: {
      concurrency: concurrency === undefined ? undefined : count(concurrency, `${what}.concurrency`),
      rate: rate === undefined ? undefined : parseRate(rate, `${what}.rate`),
      groupConcurrency: group === undefined ? undefined : count(group.concurrency, `${what}.group.concurrency`),
    },
    groupKey: group?.key,
  };
}

/** A job's group key, from its payload: a string of 1 to 500 characters. */
export function groupKeyOf<P>(key: (payload: P) => string, payload: P, task: string): string {
  const value = key(payload);
  if (typeof value !== 'string' || value.length === 0 || value.length > 500) {
    throw new UsageError(`task ${task}: limits.group.key must return a string of 1 to 500 characters, got ${JSON.stringify(value) ?? typeof value}`);
  }
  return value;
}

function changeOf(change: LimitsChange, stored: TaskLimits, what: string): TaskLimits {
  if (typeof change !== 'object' || change === null) throw new UsageError(`${what} must be { concurrency, rate, groupConcurrency }, or null`);
  const field = <T>(value: T | null | undefined, kept: T | undefined, parse: (value: T) => T): T | undefined =>
    value === undefined ? kept : value === null ? undefined : parse(value);
  return {
    concurrency: field(change.concurrency, stored.concurrency, (value) => count(value, `${what}.concurrency`)),
    rate: field(change.rate as RateLimit | null | undefined, stored.rate, (value) => parseRate(value, `${what}.rate`)) as TaskLimits['rate'],
    groupConcurrency: field(change.groupConcurrency, stored.groupConcurrency, (value) => count(value, `${what}.groupConcurrency`)),
  };
}

/** A task's limits as the database holds them. */
export interface StoredTaskLimits {
  task: string;
  /** The limits every worker obeys, or null when the definition's hold (none were set here). */
  limits: TaskLimits | null;
  /** `concurrency 2, rate 5/1s, 1 per group`, or `none`. */
  label: string;
}

export function limitsLabel(limits: TaskLimits | null | undefined): string {
  if (!hasLimits(limits ?? undefined)) return 'none';
  const parts: string[] = [];
  if (limits!.concurrency !== undefined) parts.push(`${limits!.concurrency} at once`);
  if (limits!.rate !== undefined) parts.push(`${limits!.rate.max}/${durationLabel(limits!.rate.perMs)}`);
  if (limits!.groupConcurrency !== undefined) parts.push(`${limits!.groupConcurrency} at once per group`);
  return parts.join(', ');
}

const TASK_NAME_MAX = 200;

function taskName(task: string | { name: string }): string {
  const name = typeof task === 'string' ? task : task?.name;
  if (typeof name !== 'string' || name.length === 0 || name.length > TASK_NAME_MAX) {
    throw new UsageError(`a task to limit is a task or its name (1 to ${TASK_NAME_MAX} characters), got ${JSON.stringify(name) ?? typeof name}`);
  }
  return name;
}

/** Sets a task's limits for every worker (null: its definition's again); what is stored now. */
export async function setTaskLimits(
  store: JobStore,
  task: string | { name: string },
  change: LimitsChange | null,
  now = Date.now(),
): Promise<StoredTaskLimits> {
  const name = taskName(task);
  const before = (await store.taskSettings()).find((settings) => settings.task === name);
  const limits = change === null ? null : changeOf(change, (before && storedLimits(before)) ?? {}, 'limits');
  const row = await store.setTaskLimits(name, limits, now);
  const stored = storedLimits(row) ?? null;
  return { task: name, limits: stored, label: stored === null ? "the definition's" : limitsLabel(stored) };
}

/** The limits set in the database, by task. */
export async function storedTaskLimits(store: JobStore): Promise<StoredTaskLimits[]> {
  return (await store.taskSettings())
    .filter((row) => row.limits_set_at !== null)
    .map((row) => {
      const limits = storedLimits(row) ?? null;
      return { task: row.task, limits, label: limitsLabel(limits) };
    });
}

/** Says, for the status, what limits the definitions of a starting worker's tasks have. */
export function publishDefinedLimits(store: JobStore, tasks: Iterable<{ name: string; limits: TaskLimits }>, now = Date.now()): Promise<void> {
  const defined = [...tasks].map(({ name, limits }): [string, string | null] => [name, hasLimits(limits) ? JSON.stringify(limits) : null]);
  return store.recordDefinedLimits(defined, now);
}

/** A limited task's limits and what is in use of them, as status, /jobs and /metrics show it. */
export interface LimitView {
  task: string;
  limits: TaskLimits;
  /** `2 at once, 5/1s`. */
  label: string;
  /** Where they come from: set in the database (usergen limit, queue.setLimits), or the task's definition (as its workers said). */
  source: 'database' | 'definition';
  running: number;
  /** Starts in the rate's current window (0 without a rate). */
  started_in_window: number;
  /** Ready jobs that wait for a share. */
  ready: number;
}

/** Every task with limits (those set in the database, else its definition's), with what is in use now. */
export async function limitViews(
  store: JobStore,
  readyByTask: ReadonlyArray<{ task: string; ready: number }>,
  now = Date.now(),
): Promise<LimitView[]> {
  const views: LimitView[] = [];
  for (const row of await store.taskSettings()) {
    const stored = storedLimits(row);
    const limits = stored ?? definedLimits(row.defined_limits);
    if (!hasLimits(limits)) continue;
    const use = await store.limitUse(row.task, now - (limits.rate?.perMs ?? 0));
    views.push({
      task: row.task,
      limits,
      label: limitsLabel(limits),
      source: stored === undefined ? 'definition' : 'database',
      running: use.running,
      started_in_window: limits.rate === undefined ? 0 : use.starts,
      ready: readyByTask.find((ready) => ready.task === row.task)?.ready ?? 0,
    });
  }
  return views;
}

function definedLimits(json: string | null): TaskLimits | undefined {
  if (json === null) return undefined;
  try {
    return JSON.parse(json) as TaskLimits;
  } catch {
    return undefined;
  }
}

/** `Task send_mail is limited to 5/1s (set here): 1 running, 5 started in the last 1s, 40 ready job(s) wait.` */
export function limitSentence(limit: LimitView): string {
  const source = limit.source === 'database' ? 'set here' : 'its definition';
  const rate = limit.limits.rate;
  const window = rate === undefined ? '' : `, ${formatInteger(limit.started_in_window)} started in the last ${durationLabel(rate.perMs)}`;
  const waiting = limit.ready === 0 ? 'none waits' : `${formatInteger(limit.ready)} ready job(s) wait`;
  return `Task ${limit.task} is limited to ${limit.label} (${source}): ${formatInteger(limit.running)} running${window}, ${waiting}.`;
}
