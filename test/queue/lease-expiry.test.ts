import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { pauseOutsideWrite, startCli, startWorker, stopCli, waitFor } from '../helpers.js';
import { BEHAVIOUR_TASKS, historyOf, jobRow, storedError } from './behaviour-helpers.js';
import { enqueueJobs } from './enqueue.js';

describe.each(ENGINES)('a lease that expires on the last attempt, on $name', (engine) => {
  it("ends the job failed with its LeaseExpiredError, found by another worker's claim", async () => {
    const file = await engine.database();
    // test_fail_then_hang throws on attempt 1 and holds on attempt 2, the last.
    const [id] = await enqueueJobs(file, [{ task: 'test_fail_then_hang', payload: {}, maxAttempts: 2 }]);
    const { worker: stalled, db } = await startWorker(file, ['--lease', '2s', '--poll', '20ms', '--tasks', BEHAVIOUR_TASKS]);
    await waitFor(async () => {
      const row = await jobRow(db, id!);
      return row.state === 'running' && row.attempts === 2;
    }, 'the last attempt to be running');
    const stalledId = (await jobRow(db, id!)).locked_by!;

    // Stopped, its pid is alive: only the lease can tell that it no longer works the job.
    await pauseOutsideWrite(stalled, db);
    const other = startCli(['worker', '--db', file, '--lease', '1h', '--poll', '50ms', '--tasks', BEHAVIOUR_TASKS]);
    await waitFor(async () => (await jobRow(db, id!)).state === 'failed', 'the expired lease to fail the job');
    stalled.child.kill('SIGCONT');
    await waitFor(() => stalled.stderr().includes(`Task test_fail_then_hang[${id}] abandoned`), 'the stalled worker to give the job up');
    await Promise.all([stopCli(stalled), stopCli(other)]);

    const row = await jobRow(db, id!);
    expect(row).toMatchObject({ state: 'failed', attempts: 2, locked_by: null, result: null });
    expect(row.finished_at).not.toBeNull();
    expect(storedError(row)).toEqual({
      name: 'LeaseExpiredError',
      message: `worker ${stalledId} stopped renewing its lease during attempt 2 (killed or hung)`,
    });
    expect(historyOf(row).map(({ attempt, state, error }) => [attempt, state, error?.name])).toEqual([
      [1, 'queued', 'Error'],
      [2, 'failed', 'LeaseExpiredError'],
    ]);
    // Failed for good: the other worker never ran it.
    expect(other.stderr()).not.toContain(`Task test_fail_then_hang[${id}] received`);
  });
});
