import type { Command } from 'commander';
import { UsageError } from '../../errors.js';
import { runBackupSchedule, type BackupScheduleOptions } from '../../operations/schedule.js';
import { taskNamed, workScheduleHere } from '../../operations/schedules.js';
import { workerTasks } from '../../operations/worker.js';
import { cadenceOf, cadenceOfOptions, saveSchedule, type Schedule, type ScheduleOptions } from '../../queue/schedules.js';
import { CATCH_UPS } from '../../store/schema.js';
import { BACKUP_TASK } from '../../tasks/backup.js';
import { addBackupOptions, backupDir, parseKeep, type BackupFlags } from '../backup-options.js';
import { withCommandDatabase, type CliContext } from '../context.js';
import { createLogger } from '../log.js';
import { formatTime, printJson, printLine } from '../output.js';
import { parseChoice, parseDuration, parseInteger } from '../parse.js';
import { printEvent } from '../schedule-events.js';
import { collect, taskModules } from '../task-modules.js';

interface Flags extends BackupFlags {
  every?: string;
  cron?: string;
  tz?: string;
  name?: string;
  payload?: string;
  catchUp?: string;
  overlap?: boolean;
  priority?: string;
  maxAttempts?: string;
  save?: boolean;
  json?: boolean;
  enqueueOnly?: boolean;
  tasks: string[];
}

/** The cadence and job options, checked before anything is opened (the cadence built, so a bad one is refused now). */
async function parseOptions(task: string, flags: Flags): Promise<ScheduleOptions> {
  if ((flags.every === undefined) === (flags.cron === undefined)) {
    throw new UsageError(`schedule ${task} needs exactly one of --every <duration> or --cron "<expression>"`);
  }
  if (flags.tz !== undefined && flags.cron === undefined) throw new UsageError('--tz goes with --cron: --every periods are aligned to UTC');
  const cadence = flags.every !== undefined ? { every: parseDuration(flags.every, '--every', 1000) } : { cron: flags.cron!, timezone: flags.tz };
  await cadenceOfOptions(cadence).catch((error: unknown) => {
    if (!(error instanceof UsageError)) throw error;
    throw new UsageError(`${error.message.includes('time zone') ? '--tz' : '--cron'}: ${error.message}`);
  });
  return {
    ...cadence,
    catchUp: flags.catchUp === undefined ? undefined : parseChoice(flags.catchUp, '--catch-up', CATCH_UPS),
    overlap: flags.overlap === true,
    priority: flags.priority === undefined ? undefined : parseInteger(flags.priority, '--priority', -1_000_000, 1_000_000),
    maxAttempts: flags.maxAttempts === undefined ? undefined : parseInteger(flags.maxAttempts, '--max-attempts', 1, 1000),
  };
}

function parsePayload(task: string, flags: Flags, command: Command): unknown {
  if (task === BACKUP_TASK) {
    if (flags.payload !== undefined) throw new UsageError('schedule backup takes --dir and --keep, not --payload');
    return { dir: backupDir(flags, command), keep: parseKeep(flags) };
  }
  const backupOnly = (['dir', 'keep', 'enqueueOnly'] as const).find((flag) => flags[flag] !== undefined);
  if (backupOnly) throw new UsageError(`--${backupOnly === 'enqueueOnly' ? 'enqueue-only' : backupOnly} is for schedule backup only`);
  try {
    return JSON.parse(flags.payload ?? '{}');
  } catch (error) {
    throw new UsageError(`--payload must be JSON: ${(error as Error).message}`);
  }
}

export function register(program: Command, context: CliContext): void {
  addBackupOptions(
    program
      .command('schedule <task>')
      .description("repeat a task's job every period or at cron times: saved in the database, fired by every worker that runs the task"),
  )
    .option('--every <duration>', 'the period: 15s, 30m, 1h, 1d, ... (aligned to the clock, UTC: 1h is due at the top of each hour)')
    .option('--cron <expression>', 'cron times instead, e.g. "0 */6 * * *" (five fields, or six with seconds first)')
    .option('--tz <zone>', 'the time zone of --cron, e.g. Europe/Berlin (default UTC)')
    .option('--name <name>', "the schedule's name (default: the task's); saving a name again updates that schedule")
    .option('--payload <json>', "the jobs' payload (default {}); schedule backup takes --dir and --keep instead")
    .option('--catch-up <mode>', `what slots missed while no worker ran become: ${CATCH_UPS.join(', ')} (default latest: one job)`)
    .option('--overlap', "fire a slot even while the schedule's previous job is queued or running (default: skip it)")
    .option('--priority <n>', "the jobs' priority (default 0)")
    .option('--max-attempts <n>', "the jobs' attempts (default: the task's)")
    .option('--save', 'only save the schedule and exit: the workers fire it')
    .option('--json', 'with --save: print the schedule as JSON')
    .option('--enqueue-only', 'schedule backup: only enqueue the backup jobs; a "usergen worker" runs them')
    .option('--tasks <module>', 'the task is one a JavaScript module exports (made with defineTask; repeatable)', collect, [])
    .addHelpText(
      'after',
      '\nEach slot gets one job, however many workers and schedulers run. Without --save, this process\nalso fires the schedule and works its jobs until stopped. schedule backup: on start, if the\nnewest backup in the folder is older than one period, one catch-up backup is made at once,\nunless a backup job for the folder is already queued or running: that one is worked instead\n(with --enqueue-only, left to a worker). SIGINT/SIGTERM: a job in progress finishes, then the\nscheduler exits 0. usergen schedules lists the schedules; schedules pause|resume|remove steer them.',
    )
    .action(async (taskName: string, flags: Flags, command: Command) => {
      const options = await parseOptions(taskName, flags);
      const payload = parsePayload(taskName, flags, command);
      const tasks = await workerTasks(taskModules(flags.tasks));
      const name = flags.name ?? taskName;
      await withCommandDatabase(command, async (store) => {
        // A foreground backup scheduler makes its own catch-up, from the backups of its folder.
        const fromNow = taskName === BACKUP_TASK && !flags.save;
        const task = taskNamed(store, tasks, taskName);
        const schedule = await saveSchedule(store, name, task, payload, options, { fromNow });
        if (flags.save) return printSaved(schedule, flags.json === true);
        const signal = context.shutdownSignal();
        if (taskName !== BACKUP_TASK) {
          printLine(`Schedule ${name}: task ${taskName} ${schedule.cadence}, firing here and working its jobs until stopped.`);
          const logger = createLogger('info', undefined);
          try {
            await workScheduleHere(store, task, { signal, logger, pollMs: 200 });
          } finally {
            logger.close();
          }
          return;
        }
        const backup = payload as BackupScheduleOptions['payload'];
        const cadence = await cadenceOf(schedule);
        // A URL as it prints (without its password); a file by its absolute path.
        const file = store.location;
        printLine(`Backing up ${file} ${cadence.label} into ${backup.dir}${backup.keep === null ? '.' : `, keeping ${backup.keep}.`}`);
        const report = (event: Parameters<BackupScheduleOptions['report']>[0]) => printEvent(event, file);
        await runBackupSchedule(store, { name, cadence, payload: backup, enqueueOnly: flags.enqueueOnly === true, signal, report });
      });
    });
}

function printSaved(schedule: Schedule, json: boolean): void {
  if (json) return printJson(schedule);
  const when = schedule.paused ? 'paused' : `next at ${formatTime(schedule.next_run_at)} UTC`;
  printLine(`Saved schedule ${schedule.name}: task ${schedule.task} ${schedule.cadence}; ${when}. Workers that run ${schedule.task} fire it.`);
}
