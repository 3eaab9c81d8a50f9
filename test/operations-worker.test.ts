import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { enqueueGeneration } from '../src/operations/generate.js';
import { BadTaskModule } from '../src/operations/refusals.js';
import { runWorker, workerTasks } from '../src/operations/worker.js';
import { jobSpec, type TaskDefinition } from '../src/queue/task.js';
import { StorageError } from '../src/store/store.js';
import { countUsers } from '../src/tasks/users.js';
import { damagePages } from './faults.js';
import { FIXTURE_TASKS, tempDb } from './helpers.js';
import { drainOptions, GENERATE, generateUsers, keptLog, withDatabase } from './operation-helpers.js';

// The worker operation called as a library, as `usergen worker` and `serve --worker` call
// it: typed options, a logger and a signal in, the worker's summary out.

describe('the worker operation', () => {
  it('drains the queue and returns its summary: jobs succeeded, retried, and the tasks it ran', async () => {
    const { db: file } = tempDb();
    const tasks = await workerTasks([FIXTURE_TASKS]);
    const flaky = tasks.find((task) => task.name === 'test_flaky') as TaskDefinition<{ failures: number }>;
    expect(flaky).toBeDefined();
    const { lines, logger } = keptLog();

    const run = await withDatabase(file, async (store) => {
      await enqueueGeneration(store, { ...GENERATE, total: 50 });
      await store.enqueue(jobSpec(flaky, { failures: 1 }));
      const run = await runWorker(store, { ...(await drainOptions()), tasks, logger });
      expect(await countUsers(store.db)).toBe(50);
      expect((await store.listJobs({ limit: 10 })).map((job) => job.state)).toEqual(['succeeded', 'succeeded']);
      return run;
    });

    expect(run.summary).toEqual({ succeeded: 2, failed: 0, retried: 1, released: 0 });
    expect(run.tasks).toEqual(expect.arrayContaining(['backup', 'generate_users', 'test_flaky']));
    expect(run.tasks).toEqual([...run.tasks].sort());
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^info: worker ${run.worker_id} ready: concurrency 2, database ${file}, tasks: `)));
    expect(lines).toContainEqual(`info: worker ${run.worker_id} stopped: 2 succeeded, 0 failed, 1 to retry, 0 returned to the queue`);
  });

  it('refuses a damaged database before claiming anything, as a StorageError', async () => {
    const { db: file } = tempDb();
    await generateUsers(file, [500, 500]);
    damagePages(file, 'users');

    await withDatabase(file, async (store) => {
      const { job } = await enqueueGeneration(store, { ...GENERATE, total: 50 });
      const refusal = await runWorker(store, await drainOptions()).catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(StorageError);
      expect(refusal).toMatchObject({ fault: 'damaged', message: expect.stringMatching(new RegExp(`^${file} is damaged: `)) });
      expect((await store.getJob(job.id))?.state).toBe('queued');
    });
  });

  it('refuses a module that exports no task, one whose task clashes with a built-in, and one that does not load, as BadTaskModule', async () => {
    const { dir } = tempDb();
    const noTasks = path.join(dir, 'no-tasks.mjs');
    fs.writeFileSync(noTasks, 'export const answer = 42;\n');
    const clash = path.join(dir, 'clash.mjs');
    // A task by its shape, as another copy of usergen would define it.
    fs.writeFileSync(clash, "export const mine = { name: 'generate_users', validate: (p) => p, handler: async () => 1, maxAttempts: 1 };\n");
    const missing = path.join(dir, 'missing.mjs');

    const none = await workerTasks([noTasks]).catch((error: unknown) => error);
    expect(none).toBeInstanceOf(BadTaskModule);
    expect(none).toMatchObject({ module: noTasks, message: expect.stringContaining('exports no task') });
    await expect(workerTasks([clash])).rejects.toMatchObject({
      name: 'BadTaskModule',
      module: clash,
      message: `${clash} defines a task named 'generate_users', as the built-in tasks do: task names must be unique`,
    });
    await expect(workerTasks([missing])).rejects.toMatchObject({ name: 'BadTaskModule', module: missing });
  });
});
