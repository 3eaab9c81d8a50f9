import type { WorkerRow } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import type { Idle } from './idle.js';
import { identityOf, isGoneHere } from './liveness.js';
import { recoverDeadWorkers } from './recovery.js';
import { RepeatedFailure } from './repeated-failure.js';
import type { Logger } from './worker-types.js';

// Workers' rows: a worker registers, keeps its row alive, and is alive to others while its lease
// runs and its process (on this host) is there.

/** How often a worker tries again to claim, or to register, while its database fails. */
export const CLAIM_RETRY_MS = 1_000;

/** What a worker's row says of it when it registers; the rest (times, where it runs) is filled in here. */
export type NewWorker = Pick<WorkerRow, 'id' | 'host' | 'pid' | 'concurrency' | 'tasks'>;

/** What waiting out a server out of reach takes of the worker registering. */
export interface RegisterWait {
  log: Logger;
  idle: Idle;
  /** True once the worker is stopped: it gives up registering. */
  stopped(): boolean;
  /** Give up after this many failures in a row (a draining worker); default never. */
  giveUpAfter?: number | undefined;
}

/**
 * Records a worker, with where it runs; first gets back the jobs of dead workers of this host.
 * With `wait`, a server out of reach (restarting, the network cut) is waited out as a claim waits
 * it out, until the worker is stopped (then false: not registered): its start-up check may have
 * passed just before.
 */
export async function registerWorker(store: JobStore, worker: NewWorker, leaseMs: number, wait?: RegisterWait): Promise<boolean> {
  const failures = wait && new RepeatedFailure(wait.log, 'registering the worker');
  while (!wait?.stopped()) {
    const now = Date.now();
    const row = { ...worker, started_at: now, last_heartbeat_at: now, alive_until: now + leaseMs, jobs_done: 0, ...identityOf(worker.pid) };
    try {
      await recoverDeadWorkers(store);
      await store.insertWorker(row);
      failures?.succeeded();
      return true;
    } catch (error) {
      if (!failures || store.faultOf(error) !== 'io') throw store.describeError(error);
      const count = failures.failed(store.describeError(error).message, CLAIM_RETRY_MS);
      if (wait?.giveUpAfter !== undefined && count >= wait.giveUpAfter) throw store.describeError(error);
      await wait!.idle.wait(CLAIM_RETRY_MS);
    }
  }
  return false;
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
