import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { ROOT } from '../helpers.js';
import { parsePrometheus, serveOn } from '../web/serve-helpers.js';
import { engineCli } from './engine-cli.js';

// `usergen limit` and `usergen limits`, and where limits show: status (and --json), /jobs and
// /metrics, with what is in use; a definition's limits show once a worker that runs the task has
// started.

const LIMITED_TASKS = path.join(ROOT, 'test', 'fixtures', 'limited-tasks.mjs');

describe.each(ENGINES)('usergen limit on $name', (engine) => {
  it('sets, lists and drops limits; refuses bad ones with one line and exit 2, changing nothing', async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['limit', 'send_mail', '--rate', '5/1s'])).stderr).toMatch(/^usergen: error: no usergen (database at|tables in) /);
    expect((await cli.run(['worker', '--drain'])).code).toBe(0);
    expect((await cli.run(['limit', 'send_mail', '--rate', '5/1s'])).stdout).toBe('Task send_mail: 5/1s, on every worker.\n');
    expect(await cli.json(['limit', 'send_mail', '--concurrency', '2'])).toEqual({
      task: 'send_mail',
      limits: { concurrency: 2, rate: { max: 5, perMs: 1_000 } },
      label: '2 at once, 5/1s',
    });
    for (const [args, message] of [
      [['--rate', 'fast'], "usergen: error: --rate must be like 5/1s (at most 5 starts in any 1 s), got 'fast'"],
      [['--concurrency', '0'], 'usergen: error: limits.concurrency must be a whole number from 1 to 1000000, got 0'],
      [['--concurrency', 'two'], "usergen: error: --concurrency must be a whole number from 1, or none, got 'two'"],
      [[], 'usergen: error: give a limit to set (--concurrency, --rate, --group-concurrency), or --default'],
      [['--default', '--rate', '1/1s'], 'usergen: error: --default drops every limit set here: give it alone'],
    ] as const) {
      const refused = await cli.run(['limit', 'send_mail', ...args]);
      expect(refused.code, args.join(' ')).toBe(2);
      expect(refused.stderr.trim()).toBe(message);
    }
    expect((await cli.run(['limits'])).stdout).toBe('send_mail: 2 at once, 5/1s\n');
    expect((await cli.run(['limit', 'send_mail', '--rate', 'none'])).stdout).toBe('Task send_mail: 2 at once, on every worker.\n');
    expect((await cli.run(['limit', 'send_mail', '--default'])).stdout).toBe("Task send_mail: its definition's limits hold.\n");
    expect(await cli.json(['limits'])).toEqual([]);
  });

  it("status, /jobs and /metrics show each limit and what is in use; a definition's once its worker has started", async () => {
    const cli = engineCli(await engine.database());
    expect((await cli.run(['worker', '--drain'])).code).toBe(0);
    expect((await cli.run(['limit', 'limited_pair', '--concurrency', '1'])).code).toBe(0);
    const worker = cli.start(['worker', '--tasks', LIMITED_TASKS, '--concurrency', '2', '--poll', '50ms']);
    try {
      await expect.poll(async () => (await cli.json<{ workers: unknown[] }>(['status'])).workers.length, { timeout: 20_000 }).toBe(1);
      const status = await cli.json<{ limits: unknown[] }>(['status']);
      expect(status.limits).toEqual([
        expect.objectContaining({ task: 'limited_group', label: '1 at once per group', source: 'definition' }),
        { task: 'limited_pair', limits: { concurrency: 1 }, label: '1 at once', source: 'database', running: 0, started_in_window: 0, ready: 0 },
        expect.objectContaining({ task: 'limited_rate', label: '5/1s', source: 'definition', started_in_window: 0 }),
      ]);
      expect((await cli.run(['status'])).stdout).toContain('Task limited_pair is limited to 1 at once (set here): 0 running, none waits.');
      expect((await cli.run(['status'])).stdout).toContain(
        'Task limited_rate is limited to 5/1s (its definition): 0 running, 0 started in the last 1s, none waits.',
      );
    } finally {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    const served = await serveOn(cli.db, []);
    try {
      expect((await served.page('/jobs')).text).toContain('Task limited_pair is limited to 1 at once (set here): 0 running, none waits.');
      const metrics = parsePrometheus((await served.page('/metrics')).text);
      expect(metrics.get('usergen_task_limit{task="limited_pair",kind="concurrency"}')).toBe(1);
      expect(metrics.get('usergen_task_limit{task="limited_rate",kind="rate"}')).toBe(5);
      expect(metrics.get('usergen_task_limit{task="limited_rate",kind="rate_window_seconds"}')).toBe(1);
      expect(metrics.get('usergen_task_limit_running_jobs{task="limited_pair"}')).toBe(0);
      expect(metrics.get('usergen_task_limit_ready_jobs{task="limited_group"}')).toBe(0);
    } finally {
      await served.stop();
    }
  });
});
