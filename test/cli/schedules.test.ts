import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { inspect } from '../inspect.js';
import { parsePrometheus, serveOn } from '../web/serve-helpers.js';
import { engineCli, type EngineCli } from './engine-cli.js';

// Schedules from the command line and the pages: `schedule <task> --save`, `schedules` and its
// steering, what `status`, /jobs, /schedules/<name> and /metrics show, and the refusals.

const TASKS = ['--tasks', 'test/fixtures/tasks.mjs'];

interface ScheduleJson {
  name: string;
  task: string;
  cadence: string;
  paused: boolean;
  next_run_at: number;
  payload: unknown;
  catch_up: string;
}

async function schedules(cli: EngineCli): Promise<ScheduleJson[]> {
  return cli.json<ScheduleJson[]>(['schedules']);
}

describe.each(ENGINES)('schedules from the CLI on $name', (engine) => {
  it('--save saves and updates by name; schedules lists, pauses, resumes and removes; status shows each', async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['worker', '--drain'])).code).toBe(0);
    const saved = await cli.run(['schedule', 'test_noop', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--name', 'nightly', '--save', ...TASKS]);
    expect(saved.code, saved.stderr).toBe(0);
    expect(saved.stdout).toMatch(
      /^Saved schedule nightly: task test_noop on cron '30 2 \* \* \*' in Europe\/Berlin; next at \d{4}-\d\d-\d\d 0[01]:30:00 UTC\. Workers that run test_noop fire it\.\n$/,
    );
    const updated = await cli.run([
      'schedule',
      'test_noop',
      '--every',
      '1h',
      '--payload',
      '{"n":1}',
      '--catch-up',
      'all',
      '--save',
      '--json',
      ...TASKS,
    ]);
    expect(JSON.parse(updated.stdout)).toMatchObject({ name: 'test_noop', cadence: 'every 1h', payload: { n: 1 }, catch_up: 'all' });
    expect((await schedules(cli)).map((schedule) => [schedule.name, schedule.cadence])).toEqual([
      ['nightly', "on cron '30 2 * * *' in Europe/Berlin"],
      ['test_noop', 'every 1h'],
    ]);
    const listed = (await cli.run(['schedules'])).stdout;
    expect(listed).toMatch(/│ nightly +│ test_noop +│ cron '30 2 \* \* \*' in Europe\/Berlin +│/);

    expect((await cli.run(['schedules', 'pause', 'nightly'])).stdout).toBe('Paused schedule nightly.\n');
    expect((await schedules(cli)).find((schedule) => schedule.name === 'nightly')?.paused).toBe(true);
    const status = await cli.run(['status']);
    expect(status.stdout).toContain("Schedule nightly (task test_noop, on cron '30 2 * * *' in Europe/Berlin): paused, no job yet.");
    expect(status.stdout).toMatch(/Schedule test_noop \(task test_noop, every 1h\): next \d{4}-\d\d-\d\d \d\d:00:00 UTC, no job yet\./);
    expect((await cli.json<{ schedules: unknown[] }>(['status'])).schedules).toHaveLength(2);
    expect((await cli.run(['schedules', 'resume', 'nightly'])).stdout).toMatch(/^Resumed schedule nightly: next at .* UTC\.\n$/);
    expect((await cli.run(['schedules', 'remove', 'test_noop'])).stdout).toBe('Removed schedule test_noop.\n');
    expect((await schedules(cli)).map((schedule) => [schedule.name, schedule.paused])).toEqual([['nightly', false]]);

    const missing = await cli.run(['schedules', 'remove', 'test_noop']);
    expect([missing.code, missing.stderr]).toEqual([2, "usergen: error: no schedule is named 'test_noop' (usergen schedules lists them)\n"]);
  });

  it('refuses a bad task, cadence, zone, payload or option with one line, and saves nothing', async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['worker', '--drain'])).code).toBe(0);
    const refusals: Array<[string[], string]> = [
      [['schedule', 'nope', '--every', '1h', '--save'], "unknown task 'nope' (known: backup, generate_users; a task of your own: --tasks <module>)"],
      [['schedule', 'test_noop', '--save', ...TASKS], 'schedule test_noop needs exactly one of --every <duration> or --cron "<expression>"'],
      [['schedule', 'test_noop', '--every', '500ms', '--save', ...TASKS], "--every must be at least 1000ms, got '500ms'"],
      [['schedule', 'test_noop', '--cron', 'every day', '--save', ...TASKS], "--cron: not a valid cron expression: 'every day'"],
      [
        ['schedule', 'test_noop', '--cron', '0 3 * * *', '--tz', 'Mars/Base', '--save', ...TASKS],
        "--tz: not a known time zone: 'Mars/Base' (an IANA name, e.g. Europe/Berlin)",
      ],
      [['schedule', 'test_noop', '--every', '1h', '--tz', 'UTC', '--save', ...TASKS], '--tz goes with --cron: --every periods are aligned to UTC'],
      [
        ['schedule', 'test_noop', '--every', '1h', '--payload', '"x"', '--save', ...TASKS],
        'invalid payload for test_noop: payload must be an object',
      ],
      [['schedule', 'test_noop', '--every', '1h', '--payload', '{', '--save', ...TASKS], '--payload must be JSON: '],
      [
        ['schedule', 'test_noop', '--every', '1h', '--catch-up', 'some', '--save', ...TASKS],
        "--catch-up must be one of none, latest, all, got 'some'",
      ],
      [['schedule', 'test_noop', '--every', '1h', '--name', 'a b', '--save', ...TASKS], "a schedule's name is 1 to 100 letters"],
      [['schedule', 'test_noop', '--every', '1h', '--dir', '/tmp', '--save', ...TASKS], '--dir is for schedule backup only'],
      [['schedule', 'backup', '--every', '1h', '--payload', '{}', '--save'], 'schedule backup takes --dir and --keep, not --payload'],
    ];
    for (const [args, message] of refusals) {
      const refused = await cli.run(args);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr, args.join(' ')).toContain(`usergen: error: ${message}`);
      expect(refused.stderr.trimEnd().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(await schedules(cli)).toEqual([]);
  });

  it('/jobs lists the schedules, /schedules/<name> lists its jobs, /metrics has its fires and skips', async () => {
    const served = await serveOn(await engine.database(), []);
    try {
      const cli = engineCli(served.db);
      expect((await cli.run(['schedule', 'test_noop', '--every', '1h', '--name', 'hourly', '--save', ...TASKS])).code).toBe(0);
      const db = await inspect(served.db);
      // A slot fired an hour ago, as a worker would have: its job and the schedule's record of it.
      const slot = Math.floor(Date.now() / 3_600_000) * 3_600_000;
      await db.run(
        "insert into jobs (id, task, payload, state, priority, run_at, attempts, max_attempts, created_at, unique_key) values (7, 'test_noop', '{}', 'queued', 0, ?, 0, 3, ?, ?)",
        slot,
        slot,
        `hourly@${new Date(slot).toISOString()}`,
      );
      await db.run('update schedules set last_slot = ?, last_job_id = 7, last_fired_at = ?, skipped = 3 where name = ?', slot, slot, 'hourly');

      const jobs = (await served.page('/jobs')).text;
      expect(jobs).toContain('<h2>Schedules</h2>');
      expect(jobs).toMatch(
        /<tr data-schedule="hourly">\s*<td><a href="\/schedules\/hourly">hourly<\/a><\/td>\s*<td>test_noop<\/td>\s*<td>every 1h<\/td>/,
      );
      const page = await served.page('/schedules/hourly');
      expect(page.status).toBe(200);
      expect(page.text).toContain('<h1>Schedule hourly</h1>');
      expect(page.text).toContain('<a href="/jobs/7">7</a>');
      expect((await served.page('/schedules/nope')).status).toBe(404);

      const metrics = parsePrometheus((await served.page('/metrics')).text);
      expect(metrics.get('usergen_schedule_last_fire_timestamp_seconds{schedule="hourly",task="test_noop"}')).toBe(slot / 1000);
      expect(metrics.get('usergen_schedule_skipped_slots_total{schedule="hourly",task="test_noop"}')).toBe(3);
    } finally {
      await served.stop();
    }
  });
});
