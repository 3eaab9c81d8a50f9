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

/** One pass over `tasks`: for each task and ended state with a retention (its own, else the queue's), deletes what is past it. */
export async function pruneEnded(store: JobStore, tasks: Iterable<AnyTask>, now = Date.now(), batchSize = PRUNE_BATCH): Promise<Pruned[]> {
  const fallback = await queueRetention(store);
  const pruned: Pruned[] = [];
  for (const task of tasks) {
    for (const state of ENDED_STATES) {
      // A task from an older usergen has no retention: the queue's applies.
      const own = task.retention?.[state];
      const keepMs = own === undefined ? fallback[state] : own;
      if (keepMs === null) continue;
      const { deleted, batches } = await purgeInBatches(store, { state, before: now - keepMs, task: task.name }, batchSize);
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
  let told: string | undefined;
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      try {
        for (const { task, state, deleted, batches } of await pruneEnded(store, tasks.values())) {
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
