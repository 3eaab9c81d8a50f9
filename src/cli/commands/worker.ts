import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { missingHere, runWorker, workerTasks } from '../../operations/worker.js';
import { checkGlobalOptions, databaseFile, openCommandDatabase, type CliContext } from '../context.js';
import { checkLogFile, createLogger, LOG_LEVELS, type LogLevel } from '../log.js';
import { parseChoice, parseDuration, parseInteger } from '../parse.js';
import { collect, taskModules } from '../task-modules.js';

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
    concurrency: flags.concurrency === undefined ? os.availableParallelism() : parseInteger(flags.concurrency, '--concurrency', 1, 1000),
    drain: flags.drain === true,
    pollMs: parseDuration(flags.poll, '--poll', 1),
    graceMs: parseDuration(flags.grace, '--grace'),
    leaseMs: parseDuration(flags.lease, '--lease', 500),
    logLevel: parseChoice(flags.loglevel === 'warn' ? 'warning' : flags.loglevel, '--loglevel', LOG_LEVELS),
    logFile: flags.logfile,
    taskModules: taskModules(flags.tasks),
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
    .option('--lease <duration>', "how long a job stays claimed without a heartbeat (a killed worker's jobs return after it)", '30s')
    .option('--loglevel <level>', `one of ${LOG_LEVELS.join(', ')}`, 'info')
    .option('--logfile <file>', 'append the log to this file instead of stderr')
    .option('--tasks <module>', 'also run the tasks a JavaScript module exports (made with defineTask; repeatable)', collect, [])
    .addHelpText('after', '\nA second SIGINT/SIGTERM exits at once; the jobs it was running return to the queue when their lease expires.')
    .action(async (flags: Flags, command: Command) => {
      const options = parseOptions(flags);
      checkGlobalOptions(command);
      await runWorkerCommand(options, command, context.shutdownSignal());
    });
}

async function runWorkerCommand(options: WorkerCommandOptions, command: Command, signal: AbortSignal): Promise<void> {
  const file = databaseFile(command);
  if (options.logFile !== undefined) checkLogFile(options.logFile);
  // Before the database is opened: a module that cannot be loaded leaves nothing behind.
  const tasks = await workerTasks(options.taskModules);
  const created = missingHere(file);
  // Opened before the log file: a database refused leaves nothing behind, not even a log.
  const store = await openCommandDatabase(command, { create: true });
  try {
    const logger = createLogger(options.logLevel, options.logFile);
    try {
      // A mistyped --db would otherwise idle on a new file while the jobs wait in the real one.
      if (created) logger.warn(`${path.resolve(file)} did not exist: created a new, empty database`);
      await runWorker(store, { ...options, tasks, logger, signal });
    } finally {
      logger.close();
    }
  } catch (error) {
    throw store.describeError(error);
  } finally {
    await store.close().catch(() => {});
  }
}
