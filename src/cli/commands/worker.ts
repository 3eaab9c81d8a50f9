import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import type { Database } from '../../db/schema.js';
import { checkDatabase } from '../../db/check.js';
import { damagedMessage, describeStorageError, StorageError } from '../../db/faults.js';
import { toError, UsageError, UserError } from '../../errors.js';
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
    .option('--tasks <module>', 'also load the tasks a JavaScript module defines with defineTask (repeatable)', collect, [])
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
  const created = !fs.existsSync(file);
  // Opened before the log file: a database refused leaves nothing behind, not even a log.
  const db = await openCommandDatabase(command, { create: true });
  try {
    const logger = createLogger(options.logLevel, options.logFile);
    try {
      // A mistyped --db would otherwise idle on a new file while the jobs wait in the real one.
      if (created) logger.warn(`${path.resolve(file)} did not exist: created a new, empty database`);
      await work(db, file, options, logger, signal);
    } finally {
      logger.close();
    }
  } catch (error) {
    throw describeStorageError(error, file);
  } finally {
    await db.destroy().catch(() => {});
  }
}

async function work(db: Kysely<Database>, file: string, options: WorkerCommandOptions, logger: Logger, signal: AbortSignal): Promise<void> {
  checkBeforeWork(file, logger);
  await import('../../tasks/index.js');
  for (const module of options.taskModules) await loadTasks(module);
  const { Worker } = await import('../../queue/worker.js');
  const { taskNames } = await import('../../queue/task.js');
  const worker = new Worker(db, { ...options, logger });
  logger.info(
    `worker ${worker.id} ready: concurrency ${options.concurrency}, database ${path.resolve(file)}, tasks: ${taskNames().join(', ')}`,
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
function checkBeforeWork(file: string, logger: Logger): void {
  const report = checkDatabase(file, 'quick');
  logger.debug(`quick_check of ${file}: ${report.ok ? 'ok' : 'damaged'} in ${report.duration_ms} ms`);
  if (!report.ok) throw new StorageError('damaged', damagedMessage(file, report.problems[0] ?? 'quick_check failed'));
}

async function loadTasks(module: string): Promise<void> {
  try {
    await import(pathToFileURL(module).href);
  } catch (error) {
    throw new UserError(`cannot load tasks from ${module}: ${toError(error).message}`);
  }
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
