import type { JobState } from './schema.js';

// The conflict clause of an enqueue with a dedupe key, as both engines' raw SQL spells it: the
// partial unique index it names (migrations: jobs_dedupe_queued, jobs_dedupe_active), whose
// predicate the clause must repeat exactly for the engine to pick that index.

/** At most one job per key in these states: `queued` (until it is claimed), or `active` (queued or running). */
export type DedupeWhile = 'queued' | 'active';

export interface Dedupe {
  /** Scoped by task by the queue: `send_mail/user:5`. */
  key: string;
  while: DedupeWhile;
  /** A debounce: the waiting job takes this one's payload and run time. Only while `queued`. */
  replace: boolean;
}

export const DEDUPE_STATES: Record<DedupeWhile, readonly JobState[]> = { queued: ['queued'], active: ['queued', 'running'] };

export function dedupeColumn(dedupe: Dedupe): 'dedupe_queued' | 'dedupe_active' {
  return dedupe.while === 'queued' ? 'dedupe_queued' : 'dedupe_active';
}

/**
 * `on conflict ... do update`: the job that holds the key is returned (a no-op update of its key
 * gives its row back in the same statement, where `do nothing` would give none), or, for a
 * debounce, takes the new payload and run time.
 */
export function dedupeConflict(dedupe: Dedupe): string {
  const column = dedupeColumn(dedupe);
  const states = DEDUPE_STATES[dedupe.while].map((state) => `'${state}'`).join(', ');
  const predicate = dedupe.while === 'queued' ? `${column} is not null and state = 'queued'` : `${column} is not null and state in (${states})`;
  const update = dedupe.replace ? 'payload = excluded.payload, run_at = excluded.run_at' : `${column} = excluded.${column}`;
  return `on conflict (${column}) where ${predicate} do update set ${update}`;
}
