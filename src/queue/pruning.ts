import { toError } from '../errors.js';
import type { JobStore } from '../store/store.js';
import { delay } from './delay.js';
import { ENDED_STATES, queueRetention, type EndedState } from './retention.js';
import { purgeInBatches } from './steering.js';
import type { AnyTask, TaskDefinition } from './task.js';
import type { Logger } from './worker-types.js';

// The deletion of ended jobs past their retention, by the workers: each deletes those of the tasks
// it runs (it knows their own retention), in batches of their own transactions, at start and then
// once a minute: off the claim's and the completions' path. Their users stay, as `purge` leaves
// them; their unique keys stay spent.

export const PRUNE_EVERY_MS = 60_000;
/** Smaller than a purge's: a pass runs beside the worker's own claims and completions. */
export const PRUNE_BATCH = 500;

export interface Pruned {
  task: string;
  state: EndedState;
  deleted: number;
  batches: number;
}

/**
 * How far the passes of one worker have deleted, per task and state: every job of the task that
 * ended before it is gone. A pass scans the ended jobs (index jobs_finished, by state and end
 * time) from there, not from the oldest: the jobs of tasks kept longer are read once, not once a
 * minute (a million of them kept for ever made each pass of another task's hold SQLite's write
 * lock for 360 ms). A job ends at its commit's time, after the pass that went by that time, so
 * none is passed over unless a host's clock is behind by more than the retention itself. Kept in
 * the worker, not the database: a new worker's first pass scans from the oldest, once. An index by
 * task would spare even that, but cost every claim and completion its write (4 µs a job, measured).
 */
export type PrunedUpTo = Map<string, number>;

/** One pass over `tasks`: for each task and ended state with a retention (its own, else the queue's), deletes what is past it. */
export async function pruneEnded(
  store: JobStore,
  tasks: Iterable<AnyTask>,
  now = Date.now(),
  batchSize = PRUNE_BATCH,
  upTo: PrunedUpTo = new Map(),
): Promise<Pruned[]> {
  const fallback = await queueRetention(store);
  const pruned: Pruned[] = [];
  for (const task of tasks) {
    for (const state of ENDED_STATES) {
      // A task from an older usergen has no retention: the queue's applies.
      const own = task.retention?.[state];
      const keepMs = own === undefined ? fallback[state] : own;
      if (keepMs === null) continue;
      const before = now - keepMs;
      const key = JSON.stringify([task.name, state]);
      const since = upTo.get(key);
      if (since !== undefined && since >= before) continue;
      const { deleted, batches } = await purgeInBatches(store, { state, before, since, task: task.name }, batchSize);
      upTo.set(key, before);
      if (deleted > 0) pruned.push({ task: task.name, state, deleted, batches });
    }
  }
  return pruned;
}

/** Prunes at once, then every `everyMs`, until the returned function is called (it resolves once the pass under way has ended). */
export function startPruning(
  store: JobStore,
  tasks: ReadonlyMap<string, TaskDefinition>,
  log: Logger,
  everyMs = PRUNE_EVERY_MS,
): () => Promise<void> {
  const stopping = new AbortController();
  const upTo: PrunedUpTo = new Map();
  let told: string | undefined;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        for (const { task, state, deleted, batches } of await pruneEnded(store, tasks.values(), Date.now(), PRUNE_BATCH, upTo)) {
          log.info(`Retention: deleted ${deleted} ${state} job(s) of ${task} (${batches} batch(es))`);
        }
        told = undefined;
      } catch (error) {
        // The database busy, full or out of reach: the next pass deletes what this one left.
        const message = toError(error).message;
        if (told !== message) log.warn(`could not delete the ended jobs past their retention (${message}); trying again in ${everyMs / 1000} s`);
        told = message;
      }
      await delay(everyMs, stopping.signal);
    }
  })();
  return async () => {
    stopping.abort();
    await loop;
  };
}
