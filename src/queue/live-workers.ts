import type { WorkerRow } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { identityOf, isGoneHere, type ProcessIdentity } from './liveness.js';
import { recoverDeadWorkers } from './recovery.js';

// Workers' rows: a worker registers, keeps its row alive, and is alive to others while its lease
// runs and its process (on this host) is there.

/** Records a worker, with where it runs; first gets back the jobs of dead workers of this host. */
export async function registerWorker(store: JobStore, worker: Omit<WorkerRow, keyof ProcessIdentity>): Promise<void> {
  await recoverDeadWorkers(store);
  await store.insertWorker({ ...worker, ...identityOf(worker.pid) });
}

/**
 * Pushes out the worker's row, then gets back the jobs of dead workers of this host: a worker
 * whose slots are all busy claims nothing, and would otherwise not look for them.
 */
export async function keepWorkerAlive(store: JobStore, workerId: string, leaseMs: number, jobsDone: number): Promise<void> {
  await store.touchWorker(workerId, leaseMs, jobsDone);
  await recoverDeadWorkers(store);
}

/** Workers alive now, oldest first: within their lease, and not known dead on this host. */
export async function liveWorkers(store: JobStore, now = Date.now()): Promise<WorkerRow[]> {
  return (await store.workersInLease(now)).filter((worker) => !isGoneHere(worker));
}

/** The names of the tasks `worker` runs; undefined for a worker of an older usergen, which records none and runs any. */
function tasksOf(worker: WorkerRow): string[] | undefined {
  return worker.tasks === null ? undefined : (JSON.parse(worker.tasks) as string[]);
}

/** The tasks the live `workers` run, or undefined if one of them takes any task (an older usergen). */
export function tasksRun(workers: readonly WorkerRow[]): Set<string> | undefined {
  const names = new Set<string>();
  for (const worker of workers) {
    const tasks = tasksOf(worker);
    if (tasks === undefined) return undefined;
    for (const name of tasks) names.add(name);
  }
  return names;
}

/** Live workers that run `task`. */
export async function countWorkersRunning(store: JobStore, task: string, now = Date.now()): Promise<number> {
  const workers = await liveWorkers(store, now);
  return workers.filter((worker) => tasksOf(worker)?.includes(task) ?? true).length;
}

export async function countLiveWorkers(store: JobStore, now = Date.now()): Promise<number> {
  return (await liveWorkers(store, now)).length;
}
