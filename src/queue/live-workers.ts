import type { WorkerRow } from '../store/schema.js';
import type { JobStore } from '../store/store.js';

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
  const workers = await store.liveWorkers(now);
  return workers.filter((worker) => tasksOf(worker)?.includes(task) ?? true).length;
}

export async function countLiveWorkers(store: JobStore, now = Date.now()): Promise<number> {
  return (await store.liveWorkers(now)).length;
}
