import type { JobState } from './schema.js';

// The conflict clause of an enqueue with a dedupe key, as both engines' raw SQL spells it: the
// partial unique index it names (migrations: jobs_dedupe_queued, jobs_dedupe_active), whose
// predicate the clause must repeat exactly for the engine to pick that index.

/** At most one job per key in these states: `queued` (while it waits), or `active` (queued or running). */
export type DedupeWhile = 'queued' | 'active';

export interface Dedupe {
  /** Scoped by task by the queue (src/queue/task.ts, dedupeOf). */
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

/**
 * What `dedupe_queued` becomes on a statement that puts jobs of `jobs` (the table, named as the
 * statement names it) back to the queue: a retry after a failed attempt, a release, a lease run
 * out. A claimed job keeps its key while it runs (the index leaves running rows out), so that a
 * job given back unstarted, or retried, is the one a later enqueue of its key finds again. It
 * lets the key go when another job holds it: one queued since (which then waits beside it), or,
 * for a statement that puts back many rows at once (`manyRows`), one running with a lower id
 * that may come back in the same statement; two rows back under one key would break the unique
 * index and fail the statement, which must never fail for a key's sake. A CASE, so that a job
 * without a key costs no lookup.
 */
export function keptQueuedKey(jobs: string, { manyRows }: { manyRows: boolean }): string {
  const running = manyRows ? " or (other.state = 'running' and other.id < jobs.id)" : '';
  return `case when jobs.dedupe_queued is null then null
    when exists (select 1 from ${jobs} other where other.dedupe_queued = jobs.dedupe_queued and other.id <> jobs.id
      and (other.state = 'queued'${running})) then null
    else jobs.dedupe_queued end`;
}
