import { describe, expect, it } from 'vitest';
import { ENGINES } from '../engines.js';
import { startCli, stopCli, waitFor } from '../helpers.js';
import { inspect } from '../inspect.js';
import { BEHAVIOUR_TASKS, historyOf, jobRow } from './behaviour-helpers.js';
import { enqueueJobs } from './enqueue.js';

// test_fails_with_backoff's backoff: baseMs and maxMs 2,000. After a first failure the delay is
// "equal jitter" of the base: from half of it to all of it.
const BASE_MS = 2_000;

describe.each(ENGINES)('retry backoff on $name', (engine) => {
  it("a failed attempt's retry has run_at pushed out by the backoff, and does not run before it", async () => {
    const file = await engine.database();
    const [id] = await enqueueJobs(file, [{ task: 'test_fails_with_backoff', payload: {}, maxAttempts: 2 }]);
    const db = await inspect(file);
    const worker = startCli(['worker', '--db', file, '--poll', '20ms', '--tasks', BEHAVIOUR_TASKS]);
    await waitFor(async () => (await jobRow(db, id!)).state === 'failed', 'both attempts to fail', 15_000);
    await stopCli(worker);

    const row = await jobRow(db, id!);
    const [first, last] = historyOf(row);
    expect(first).toMatchObject({ attempt: 1, state: 'queued' });
    expect(last).toMatchObject({ attempt: 2, state: 'failed', retry_at: null });
    const retryAt = first!.retry_at!;
    const thrownAt = Number(/^failed at (\d+)$/.exec(first!.error!.message)![1]);
    // The task threw, then the worker took the delay, then recorded the failure.
    expect(thrownAt).toBeLessThanOrEqual(first!.at);
    expect(retryAt - thrownAt).toBeGreaterThanOrEqual(BASE_MS / 2);
    expect(retryAt - first!.at).toBeLessThanOrEqual(BASE_MS);
    // The second attempt waited for it (the worker claimed every 20 ms meanwhile).
    expect(row.attempts).toBe(2);
    expect(row.started_at!).toBeGreaterThanOrEqual(retryAt);
  });
});
