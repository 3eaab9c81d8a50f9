import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { damagedMessage, StorageError, type JobStore } from '../../store/store.js';
import { toError, UsageError, UserError } from '../../errors.js';
import type { TaskDefinition } from '../../queue/task.js';
import type { Logger } from '../../queue/worker.js';
import { checkGlobalOptions, databaseFile, openCommandDatabase, type CliContext } from '../context.js';
import { checkLogFile, createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import { parseChoice, parseDuration, parseInteger } from '../parse.js';

interface Flags {
  concurrency?: string;
  drain?: boolean;
  poll: string;
  grace: string;
  lease: string;
  loglevel: string;
  logfile?: string;
  tasks: string[];
}

export interface WorkerCommandOptions {
  concurrency: number;
  drain: boolean;
  pollMs: number;
  graceMs: number;
  leaseMs: number;
  logLevel: LogLevel;
  logFile: string | undefined;
  taskModules: string[];
}

function parseOptions(flags: Flags): WorkerCommandOptions {
  return {
    concurrency:
      flags.concurrency === undefined ? os.availableParallelism() : parseInteger(flags.concurrency, '--concurrency', 1, 1000),
    drain: flags.drain === true,
    pollMs: parseDuration(flags.poll, '--poll', 1),
    graceMs: parseDuration(flags.grace, '--grace'),
    leaseMs: parseDuration(flags.lease, '--lease', 500),
    logLevel: parseChoice(flags.loglevel === 'warn' ? 'warning' : flags.loglevel, '--loglevel', LOG_LEVELS),
    logFile: flags.logfile,
    taskModules: flags.tasks.map((module) => {
      const resolved = path.resolve(module);
      if (!fs.existsSync(resolved)) throw new UsageError(`--tasks: no such file: ${module}`);
      return resolved;
    }),
  };
}

export function register(program: Command, context: CliContext): void {
  program
    .command('worker')
    .description('work the jobs in the queue, several at once, until stopped (SIGINT/SIGTERM)')
    .option('--concurrency <n>', `jobs run at once by this process (default: CPU count, ${os.availableParallelism()} here)`)
    .option('--drain', 'exit once no job is ready or running')
    .option('--poll <duration>', 'how often an idle worker looks for new jobs', '200ms')
    .option('--grace <duration>', 'on SIGINT/SIGTERM, how long running jobs may take before they go back to the queue', '30s')
    .option('--lease <duration>', 'how long a job stays claimed without a heartbeat (a killed worker\'s jobs return after it)', '30s')
    .option('--loglevel <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .option('--logfile <file>', 'append the log to this file instead of stderr')
    .option('--tasks <module>', 'also run the tasks a JavaScript module exports (made with defineTask; repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nA second SIGINT/SIGTERM exits at once; the jobs it was running return to the queue when their lease expires.',
    )
    .action(async (flags: Flags, command: Command) => {
      const options = parseOptions(flags);
      checkGlobalOptions(command);
      await runWorker(options, command, context.shutdownSignal());
    });
}

async function runWorker(options: WorkerCommandOptions, command: Command, signal: AbortSignal): Promise<void> {
  const file = databaseFile(command);
  if (options.logFile !== undefined) checkLogFile(options.logFile);
  // Before the database is opened: a module that cannot be loaded leaves nothing behind.
  const tasks = await workerTasks(options.taskModules);
  const created = !fs.existsSync(file);
  // Opened before the log file: a database refused leaves nothing behind, not even a log.
  const store = await openCommandDatabase(command, { create: true });
  try {
    const logger = createLogger(options.logLevel, options.logFile);
    try {
      // A mistyped --db would otherwise idle on a new file while the jobs wait in the real one.
      if (created) logger.warn(`${path.resolve(file)} did not exist: created a new, empty database`);
      await work(store, options, tasks, logger, signal);
    } finally {
      logger.close();
    }
  } catch (error) {
    throw store.describeError(error);
  } finally {
    await store.close().catch(() => {});
  }
}

/** The built-in tasks (the backup task's name: its definition needs the open store), and those the --tasks modules export. */
async function workerTasks(modules: string[]): Promise<Array<TaskDefinition<any, any>>> {
  const { BACKUP_TASK } = await import('../../tasks/backup.js');
  const { generateUsers } = await import('../../tasks/generate-users.js');
  const tasks: Array<TaskDefinition<any, any>> = [generateUsers];
  const from = new Map<string, string>([[generateUsers.name, 'the built-in tasks'], [BACKUP_TASK, 'the built-in tasks']]);
  for (const module of modules) {
    for (const task of await loadTasks(module)) {
      const known = tasks.find((other) => other.name === task.name);
      if (known === task) continue;
      if (known || from.has(task.name)) throw new UserError(`${module} defines a task named '${task.name}', as ${from.get(task.name)} do: task names must be unique`);
      tasks.push(task);
      from.set(task.name, module);
    }
  }
  return tasks;
}

async function work(
  store: JobStore,
  options: WorkerCommandOptions,
  moduleTasks: Array<TaskDefinition<any, any>>,
  logger: Logger,
  signal: AbortSignal,
): Promise<void> {
  await checkBeforeWork(store, logger);
  const { Worker } = await import('../../queue/worker.js');
  const { backupTask } = await import('../../tasks/backup.js');
  const tasks = [...moduleTasks, backupTask(store)];
  const worker = new Worker(store, { ...options, tasks, logger });
  logger.info(
    `worker ${worker.id} ready: concurrency ${options.concurrency}, database ${store.location}, tasks: ${tasks
      .map((task) => task.name)
      .sort()
      .join(', ')}`,
  );
  signal.addEventListener('abort', () => logger.info(`${(signal.reason as Error).message}: stopping`), { once: true });
  const summary = await worker.run(signal);
  logger.info(
    `worker ${worker.id} stopped: ${summary.succeeded} succeeded, ${summary.failed} failed, ${summary.retried} to retry, ${summary.released} returned to the queue`,
  );
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
    throw new UserError(`cannot load tasks from ${module}: ${toError(error).message}`);
  }
  const { isTaskDefinition } = await import('../../queue/task.js');
  const tasks = Object.values(exports).flatMap((value) => (Array.isArray(value) ? value : [value])).filter(isTaskDefinition);
  if (tasks.length === 0) {
    throw new UserError(`${module} exports no task: export each definition, e.g. export const sendMail = defineTask({ ... })`);
  }
  return tasks;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
