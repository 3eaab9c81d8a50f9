import { UsageError } from '../errors.js';
import type { JobStore } from '../store/store.js';
import { durationLabel, parseDuration } from './duration.js';

// How long ended jobs are kept: per task (defineTask's `retention`), else the queue-wide default
// kept in the database (`usergen retention`, queue.setRetention). The default is to keep
// everything. A worker deletes what is past it (pruning.ts); their unique keys stay spent.

/** The states an ended job is in, each with its own retention. */
export const ENDED_STATES = ['succeeded', 'failed', 'cancelled'] as const;
export type EndedState = (typeof ENDED_STATES)[number];

/** A duration: milliseconds, or text such as `7d`, `12h`, `30m`; null: kept for ever. */
export type RetentionDuration = number | string | null;

/** How long the ended jobs of each state are kept; a state left out takes the queue-wide default (for a task) or stays as it was (for the default). */
export type Retention = Partial<Record<EndedState, RetentionDuration>>;

/** Milliseconds per state; null: kept for ever. */
export type RetentionMs = Record<EndedState, number | null>;

export const KEEP_EVERYTHING: RetentionMs = { succeeded: null, failed: null, cancelled: null };

/** The states `retention` names, in milliseconds (null: for ever); refuses an unknown state or a duration it cannot read. */
export function parseRetention(retention: Retention, what: string): Partial<RetentionMs> {
  if (typeof retention !== 'object' || retention === null || Array.isArray(retention)) {
    throw new UsageError(`${what} must be an object of succeeded, failed and cancelled durations`);
  }
  const parsed: Partial<RetentionMs> = {};
  for (const [state, duration] of Object.entries(retention)) {
    if (!(ENDED_STATES as readonly string[]).includes(state)) throw new UsageError(`${what} takes ${ENDED_STATES.join(', ')}, got '${state}'`);
    if (duration === undefined) continue;
    parsed[state as EndedState] = durationMs(duration, `${what}.${state}`);
  }
  return parsed;
}

function durationMs(duration: RetentionDuration, what: string): number | null {
  if (duration === null) return null;
  if (typeof duration === 'string') return parseDuration(duration, what);
  if (!Number.isSafeInteger(duration) || duration < 0) {
    throw new UsageError(`${what} must be a duration (7d, 12h), milliseconds, or null to keep for ever, got ${JSON.stringify(duration)}`);
  }
  return duration;
}

const SETTING = 'retention';

/** The queue-wide default, as every worker applies it to the tasks without a retention of their own. */
export async function queueRetention(store: JobStore): Promise<RetentionMs> {
  const text = await store.queueSetting(SETTING);
  if (text === undefined) return { ...KEEP_EVERYTHING };
  return { ...KEEP_EVERYTHING, ...(JSON.parse(text) as Partial<RetentionMs>) };
}

/** Changes the states `changes` names (null: keep for ever), keeps the others; the default as it is now. */
export async function setQueueRetention(store: JobStore, changes: Retention, now = Date.now()): Promise<RetentionMs> {
  const parsed = parseRetention(changes, 'retention');
  const next = { ...(await queueRetention(store)), ...parsed };
  await store.setQueueSetting(SETTING, JSON.stringify(next), now);
  return next;
}

/** `succeeded 7d, failed kept, cancelled 1d`. */
export function retentionLabel(retention: RetentionMs): string {
  return ENDED_STATES.map((state) => {
    const ms = retention[state];
    return `${state} ${ms === null ? 'kept for ever' : `${durationLabel(ms)}`}`;
  }).join(', ');
}
