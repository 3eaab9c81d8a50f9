import { createRequire } from 'node:module';
import { Command, CommanderError } from 'commander';
import { InterruptedError, toError, UsageError, UserError } from '../errors.js';
import * as backup from './commands/backup.js';
import * as backups from './commands/backups.js';
import * as check from './commands/check.js';
import * as generate from './commands/generate.js';
import * as job from './commands/job.js';
import * as jobs from './commands/jobs.js';
import * as list from './commands/list.js';
import * as pause from './commands/pause.js';
import * as limit from './commands/limit.js';
import * as purge from './commands/purge.js';
import * as restore from './commands/restore.js';
import * as retention from './commands/retention.js';
import * as retryCancel from './commands/retry-cancel.js';
import * as schedule from './commands/schedule.js';
import * as schedules from './commands/schedules.js';
import * as serve from './commands/serve.js';
import * as status from './commands/status.js';
import * as worker from './commands/worker.js';
import type { CliContext } from './context.js';

const { version } = createRequire(import.meta.url)('../../package.json') as { version: string };

function buildProgram(context: CliContext): Command {
  const program = new Command('usergen')
    .version(version, '-V, --version', 'print the version')
    .description('Random user accounts, made by a durable job queue in one SQLite file or a PostgreSQL database.')
    .option(
      '--db <file|url>',
      'the database: an SQLite file, or postgres://user:password@host:port/database (default: $USERGEN_DB, else ./usergen.db)',
    )
    .option('--pg-schema <name>', "PostgreSQL: the schema of usergen's tables (default: $USERGEN_PG_SCHEMA, else usergen)")
    .option('--durability <level>', 'full: a commit survives power loss (default); normal: it survives a killed process only')
    .helpOption('-h, --help', 'print help')
    .helpCommand('help [command]', 'print help for a command')
    .exitOverride()
    .configureOutput({ outputError: () => {} })
    .showSuggestionAfterError(true);
  for (const command of [
    generate,
    worker,
    list,
    jobs,
    job,
    retryCancel,
    pause,
    limit,
    status,
    purge,
    retention,
    check,
    backup,
    backups,
    restore,
    schedule,
    schedules,
    serve,
  ])
    command.register(program, context);
  return program;
}

/** The one place that turns an outcome into an exit code (and the only caller of process.exit). */
function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
    // `help <command>` asked for it (0); or help was printed (to stderr) in place of a missing
    // command, which says enough (2).
    if (error.code === 'commander.help') return error.exitCode === 0 ? 0 : 2;
    reportError(error.message.replace(/^error: /, ''));
    return 2;
  }
  if (error instanceof UsageError) {
    reportError(error.message);
    return 2;
  }
  if (error instanceof InterruptedError) {
    reportError(error.message);
    return 130;
  }
  const normalised = toError(error);
  reportError(normalised.message, error instanceof UserError ? undefined : normalised.stack);
  return 1;
}

function reportError(message: string, stack?: string): void {
  process.stderr.write(`usergen: error: ${message.replace(/\s*\n\s*/g, ' ').trim()}\n`);
  if (stack && process.env.USERGEN_DEBUG === '1') process.stderr.write(`${stack}\n`);
}

let shutdown: AbortController | undefined;
let stdoutClosed = false;

const context: CliContext = {
  shutdownSignal() {
    if (!shutdown) {
      const controller = new AbortController();
      shutdown = controller;
      const onSignal = (signal: NodeJS.Signals) => {
        if (!controller.signal.aborted) {
          controller.abort(new UserError(`interrupted by ${signal}`));
          return;
        }
        process.stderr.write(`usergen: ${signal} again: exiting now\n`);
        process.exit(1);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (stdoutClosed) controller.abort(new UserError('output closed'));
    }
    return shutdown.signal;
  },
};

// The reader of stdout went away (`usergen status | head -3`): nothing more can be shown, so the
// command stops as on Ctrl-C, and ends quietly.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  stdoutClosed = true;
  shutdown?.abort(new UserError('output closed'));
});

let code = 0;
try {
  await buildProgram(context).parseAsync(process.argv);
} catch (error) {
  code = stdoutClosed ? 0 : exitCodeFor(error);
}
// Flush what is still buffered for a pipe before leaving.
process.stdout.write('', () => process.exit(code));
