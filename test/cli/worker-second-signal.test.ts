import { describe, expect, it } from 'vitest';
import { startWorker, tempDb, waitFor } from '../helpers.js';
import { BEHAVIOUR_TASKS, exitWithin, jobRow } from '../queue/behaviour-helpers.js';
import { enqueueJobs } from '../queue/enqueue.js';

describe('a second signal', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)('%s again during the grace period exits the worker at once, nonzero', async (signal) => {
    const { db: file } = tempDb();
    const [id] = await enqueueJobs(file, [{ task: 'test_hold', payload: { ms: 3_600_000 } }]);
    const { worker, db } = await startWorker(file, ['--grace', '1h', '--tasks', BEHAVIOUR_TASKS]);
    await waitFor(async () => (await jobRow(db, id!)).state === 'running', 'the job to be running');

    worker.child.kill(signal);
    await waitFor(() => worker.stderr().includes('running job(s) to finish'), 'the grace period to begin');
    worker.child.kill(signal);
    const exit = await exitWithin(worker, 10_000, 'the worker to exit on the second signal');

    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain(`interrupted by ${signal}: stopping`);
    expect(exit.stderr).toContain(`usergen: ${signal} again: exiting now\n`);
    // Nothing was given back: its lease (an hour of grace was left) brings the job back.
    expect(await jobRow(db, id!)).toMatchObject({ state: 'running', attempts: 1 });
  });
});
