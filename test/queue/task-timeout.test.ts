import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { startCli, stopCli, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { BEHAVIOUR_TASKS, historyOf, jobRow, storedError } from './behaviour-helpers.js';
import { enqueueJobs } from './enqueue.js';

describe.each(ENGINES)("a task's timeoutMs on $name", (engine) => {
  it('fails each attempt that runs past it with a JobTimeoutError: retried, then failed, the error kept', async () => {
    const file = await engine.database();
    // test_past_timeout: timeoutMs 300, 2 attempts; it would otherwise run for an hour.
    const [id] = await enqueueJobs(file, [{ task: 'test_past_timeout', payload: {}, maxAttempts: 2 }]);
    const db = await inspect(file);
    const worker = startCli(['worker', '--db', file, '--poll', '20ms', '--tasks', BEHAVIOUR_TASKS]);
    await waitFor(async () => (await jobRow(db, id!)).state === 'failed', 'the job to fail', 15_000);
    await stopCli(worker);

    const row = await jobRow(db, id!);
    expect(row).toMatchObject({ state: 'failed', attempts: 2, result: null, locked_by: null });
    expect(storedError(row)).toMatchObject({ name: 'JobTimeoutError', message: 'timed out after 300ms' });
    expect(historyOf(row).map(({ attempt, state, error }) => [attempt, state, error?.name])).toEqual([
      [1, 'queued', 'JobTimeoutError'],
      [2, 'failed', 'JobTimeoutError'],
    ]);
    expect(worker.stderr()).toContain(`Task test_past_timeout[${id}] retry: Retry in`);
    expect(worker.stderr()).toContain("after 2 attempt(s): JobTimeoutError('timed out after 300ms')");
  });
});
