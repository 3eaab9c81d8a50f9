import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { waitFor, type CliProcess } from '../helpers.js';
import { inspect } from '../inspect.js';
import { engineCli } from './engine-cli.js';

// One job per slot under fire: 3 worker processes and 2 foreground schedulers fire the same
// schedule (every 1s) for 30 slots, while a worker and then a scheduler are SIGKILLed and
// restarted. With --overlap every slot fires whatever its previous job is doing, so each slot
// from the first to the last must have exactly one job, and every job must end succeeded.

const SLOTS = 30;
const TASKS = ['--tasks', 'test/fixtures/tasks.mjs'];

describe.each(ENGINES)('a schedule fired by many processes on $name', (engine) => {
  it(`${SLOTS} slots, 3 workers and 2 schedulers, one of each SIGKILLed and restarted: one job per slot`, async () => {
    const cli = engineCli(await engine.database());
    const startWorker = () => cli.start(['worker', '--concurrency', '2', '--poll', '100ms', ...TASKS]);
    const startScheduler = () => cli.start(['schedule', 'test_noop', '--every', '1s', '--name', 'tick', '--overlap', ...TASKS]);
    const workers: CliProcess[] = [startWorker()];
    // The first worker makes the database; the others then open it.
    await waitFor(() => workers[0]!.stderr().includes(' ready: '), 'the first worker');
    workers.push(startWorker(), startWorker());
    const schedulers = [startScheduler(), startScheduler()];
    const db = await inspect(cli.db);
    const fired = () => db.count("select count(*) from jobs where unique_key like 'tick@%'");

    await waitFor(async () => (await fired()) >= 10, '10 slots fired', 30_000, 50);
    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    workers[0] = startWorker();
    await waitFor(async () => (await fired()) >= 20, '20 slots fired', 30_000, 50);
    schedulers[0]!.child.kill('SIGKILL');
    await schedulers[0]!.exited;
    schedulers[0] = startScheduler();
    await waitFor(async () => (await fired()) >= SLOTS, `${SLOTS} slots fired`, 30_000, 50);

    for (const scheduler of schedulers) scheduler.child.kill('SIGTERM');
    await Promise.all(schedulers.map((scheduler) => scheduler.exited));
    await cli.run(['schedules', 'pause', 'tick']);
    // The killed worker's job comes back once its lease runs out, or at once to a worker of its host.
    await waitFor(
      async () => (await db.count("select count(*) from jobs where state in ('queued', 'running')")) === 0,
      'every job ended',
      60_000,
      50,
    );
    for (const worker of workers) worker.child.kill('SIGTERM');
    await Promise.all(workers.map((worker) => worker.exited));

    const jobs = await db.all<{ unique_key: string; run_at: number; state: string }>(
      "select unique_key, run_at, state from jobs where unique_key like 'tick@%' order by run_at",
    );
    const slots = jobs.map((job) => Date.parse(job.unique_key.slice('tick@'.length)));
    expect(slots.length).toBeGreaterThanOrEqual(SLOTS);
    expect(jobs.map((job) => Number(job.run_at))).toEqual(slots);
    // Each second from the first slot to the last, once.
    expect(slots.map((slot) => (slot - slots[0]!) / 1000)).toEqual(slots.map((_, i) => i));
    expect(jobs.filter((job) => job.state !== 'succeeded')).toEqual([]);
  }, 180_000);
});
