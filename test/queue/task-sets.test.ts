import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { FIXTURE_TASKS, jobs, ROOT, runCli, startWorker, stopCli, waitFor } from '../helpers.js';
import { databaseMade } from '../web/serve-helpers.js';
import { enqueueJobs } from './enqueue.js';

const OTHER_TASKS = path.join(ROOT, 'test', 'fixtures', 'other-tasks.mjs');

// Workers claim only the tasks they know: two workers with different task sets share one database
// without failing each other's jobs, and a job of a task no worker knows waits for one.

describe.each(ENGINES)('workers with different task sets on one database on $name', (engine) => {
  it('each runs only its own tasks; a job of a task no running worker knows stays queued, and status and jobs say why', async () => {
    const file = await engine.database();
    const [mine, theirs, nobodys] = await enqueueJobs(file, [
      { task: 'test_noop', payload: {} },
      { task: 'test_other', payload: {} },
      { task: 'send_welcome_mail', payload: {} },
    ]);
    const first = await startWorker(file, ['--tasks', FIXTURE_TASKS]);
    const { db } = first;
    await waitFor(() => db.count("select count(*) from jobs where id = ? and state = 'succeeded'", mine), 'its own job to be done');

    const status = JSON.parse((await runCli(['status', '--json', '--db', file])).stdout) as {
      waiting_for_a_worker_that_knows_their_task: Array<{ task: string; ready: number }>;
    };
    expect(status.waiting_for_a_worker_that_knows_their_task).toEqual([
      { task: 'send_welcome_mail', ready: 1 },
      { task: 'test_other', ready: 1 },
    ]);
    const listed = await runCli(['jobs', '--db', file]);
    expect(listed.stdout).toContain(`Job(s) ${theirs} of task test_other wait for a worker that knows it`);

    const second = await startWorker(file, ['--tasks', OTHER_TASKS], 2);
    await waitFor(() => db.count("select count(*) from jobs where id = ? and state = 'succeeded'", theirs), "the other worker's job to be done");
    const human = await runCli(['status', '--db', file]);
    expect(human.stdout).toContain('1 ready job(s) of task send_welcome_mail wait for a worker that knows it');
    await Promise.all([stopCli(first.worker), stopCli(second.worker)]);

    const byId = new Map((await jobs(db)).map((job) => [job.id, job]));
    expect(byId.get(theirs!)).toMatchObject({ state: 'succeeded', attempts: 1, error: null, result: `"run by ${second.worker.child.pid}"` });
    expect(byId.get(mine!)).toMatchObject({ state: 'succeeded', attempts: 1, error: null });
    expect(byId.get(nobodys!)).toMatchObject({ state: 'queued', attempts: 0, error: null });
    expect(first.worker.stderr()).not.toContain('test_other');
  });

  it('a --tasks module that exports no task is refused with one line, and no database is created', async () => {
    const file = await engine.database();
    const run = await runCli(['worker', '--drain', '--tasks', path.join(ROOT, 'test', 'helpers.ts'), '--db', file]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^usergen: error: .*helpers\.ts/);
    expect(await databaseMade(file)).toBe(false);
  });
});
