import { UsageError } from '../errors.js';
import type { AnyTask } from '../queue/task.js';
import type { Logger, WorkerSummary } from '../queue/worker.js';
import type { JobStore } from '../store/store.js';
import { BACKUP_TASK, backupTask } from '../tasks/backup.js';

// `schedule <task>` and `schedules`: which task a name means, and a schedule worked in the
// foreground. Saving, listing and steering schedules are the queue's (src/queue/schedules.ts).

/** The task named `name` among `tasks` (workerTasks' built-ins and modules) and this store's backup; a UsageError when none is. */
export function taskNamed(store: JobStore, tasks: readonly AnyTask[], name: string): AnyTask {
  if (name === BACKUP_TASK) return backupTask(store);
  const task = tasks.find((known) => known.name === name);
  if (task) return task;
  const names = [...tasks.map((known) => known.name), BACKUP_TASK].sort().join(', ');
  throw new UsageError(`unknown task '${name}' (known: ${names}; a task of your own: --tasks <module>)`);
}

export interface WorkHereOptions {
  signal: AbortSignal;
  logger: Logger;
  pollMs: number;
}

/** Fires the schedules of `task` and runs its jobs, one at a time, in this process until `signal` aborts. */
export async function workScheduleHere(store: JobStore, task: AnyTask, options: WorkHereOptions): Promise<WorkerSummary> {
  const { Worker } = await import('../queue/worker.js');
  const worker = new Worker(store, { tasks: [task], concurrency: 1, pollMs: options.pollMs, logger: options.logger });
  return worker.run(options.signal);
}
