import { pathToFileURL } from 'node:url';
import { toError } from '../errors.js';
import type { TaskDefinition, AnyTask } from '../queue/task.js';
import type { Logger, WorkerSummary } from '../queue/worker.js';
import { damagedMessage, StorageError, type JobStore } from '../store/store.js';

/** Whether starting a worker on `location` would make a new database there (a mistyped --db): known without a server only. */
export { missingHere } from '../store/open.js';
import { BadTaskModule } from './refusals.js';

// `worker`: the tasks it runs, the check before it claims anything, and its run. The worker loop
// and the tasks are imported when needed, so a command that only imports this stays light.

export interface RunWorkerOptions {
  /** The tasks to run, as workerTasks returns them; the backup task of this store is added. */
  tasks: ReadonlyArray<AnyTask>;
  /** Jobs run at once. */
  concurrency: number;
  /** Return once no job is ready or running. */
  drain: boolean;
  pollMs: number;
  /** On stop, how long running jobs may take before they go back to the queue. */
  graceMs: number;
  leaseMs: number;
  /** Where the worker's lines go: start, stop and each job. */
  logger: Logger;
  /** Stops the worker: it claims nothing more, lets running jobs finish within graceMs, gives back the rest. */
  signal: AbortSignal;
  /** Called once the worker is recorded alive and claims. */
  onRunning?: () => void;
}

export interface WorkerRun {
  worker_id: string;
  /** The names of the tasks it ran, sorted. */
  tasks: string[];
  summary: WorkerSummary;
}

/**
 * The built-in tasks (the backup task by its name: its definition needs the open store), and
 * those the `modules` (absolute paths) export. Load them before opening a database: a module that
 * cannot be used is refused (BadTaskModule) with nothing created.
 */
export async function workerTasks(modules: readonly string[]): Promise<Array<AnyTask>> {
  const { BACKUP_TASK } = await import('../tasks/backup.js');
  const { generateUsers } = await import('../tasks/generate-users.js');
  const tasks: Array<AnyTask> = [generateUsers];
  const from = new Map<string, string>([
    [generateUsers.name, 'the built-in tasks'],
    [BACKUP_TASK, 'the built-in tasks'],
  ]);
  for (const module of modules) {
    for (const task of await loadTasks(module)) {
      const known = tasks.find((other) => other.name === task.name);
      if (known === task) continue;
      if (known || from.has(task.name)) {
        throw new BadTaskModule(module, `${module} defines a task named '${task.name}', as ${from.get(task.name)} do: task names must be unique`);
      }
      tasks.push(task);
      from.set(task.name, module);
    }
  }
  return tasks;
}

/**
 * Checks the database, then works its queue until `signal` aborts (or, with `drain`, until
 * nothing is ready or running); returns what the worker did. A damaged database is refused
 * (StorageError) before anything is claimed.
 */
export async function runWorker(store: JobStore, options: RunWorkerOptions): Promise<WorkerRun> {
  const { logger, signal } = options;
  await checkBeforeWork(store, logger);
  const { Worker } = await import('../queue/worker.js');
  const { backupTask } = await import('../tasks/backup.js');
  const tasks = [...options.tasks, backupTask(store)];
  const worker = new Worker(store, {
    tasks,
    concurrency: options.concurrency,
    drain: options.drain,
    pollMs: options.pollMs,
    graceMs: options.graceMs,
    leaseMs: options.leaseMs,
    logger,
    onRunning: options.onRunning,
  });
  const names = tasks.map((task) => task.name).sort();
  logger.info(`worker ${worker.id} ready: concurrency ${options.concurrency}, database ${store.location}, tasks: ${names.join(', ')}`);
  const onAbort = () => logger.info(`${toError(signal.reason).message}: stopping`);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const summary = await worker.run(signal);
    logger.info(
      `worker ${worker.id} stopped: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.retried} to retry, ${summary.released} returned to the queue`,
    );
    return { worker_id: worker.id, tasks: names, summary };
  } finally {
    // A signal that outlives this run (a server's) must not log for a worker long gone.
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * A worker refuses a damaged file before claiming anything: it would otherwise commit new work
 * into it. quick_check reads every page but skips the index cross-checks of integrity_check.
 */
async function checkBeforeWork(store: JobStore, logger: Logger): Promise<void> {
  const report = await store.check('quick');
  logger.debug(`quick check of ${report.file}: ${report.ok ? 'ok' : 'damaged'} in ${report.duration_ms} ms`);
  if (!report.ok) throw new StorageError('damaged', damagedMessage(report.file, report.problems[0] ?? 'quick check failed'));
}

/**
 * The task definitions `module` exports (each export that is one, or an array of them). Known by
 * their shape, so a module that imports another copy of usergen works all the same.
 */
async function loadTasks(module: string): Promise<Array<TaskDefinition<unknown, unknown>>> {
  let exports: Record<string, unknown>;
  try {
    exports = (await import(pathToFileURL(module).href)) as Record<string, unknown>;
  } catch (error) {
    throw new BadTaskModule(module, `cannot load tasks from ${module}: ${toError(error).message}`);
  }
  const { isTaskDefinition } = await import('../queue/task.js');
  const tasks = Object.values(exports)
    .flatMap((value) => (Array.isArray(value) ? value : [value]))
    .filter(isTaskDefinition);
  if (tasks.length === 0) {
    throw new BadTaskModule(module, `${module} exports no task: export each definition, e.g. export const sendMail = defineTask({ ... })`);
  }
  return tasks;
}
