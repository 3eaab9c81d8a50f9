import { describe, expect, it } from 'vitest';
import { defineTask, JobCancelledError, JobFailedError, JobNotFoundError, ResultTimeoutError, UsageError } from '../../src/index.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';
import { startCli, stopCli, waitFor } from '../helpers.js';

// queue.result and queue.run: the typed result once the job succeeded, a typed error for every
// other end, waited for across processes (the worker is another process here).

const TASKS = ['--tasks', 'test/fixtures/tasks.mjs'];
const asObject = (payload: unknown) => payload as Record<string, unknown>;

describe.each(ENGINES)('results on $name', (engine) => {
  const current = queueOnEachTest(engine);

  const noop = defineTask<Record<string, unknown>, string>({ name: 'test_noop', validate: asObject, handler: async () => 'ok' });
  const fails = defineTask({ name: 'test_always_fails', validate: asObject, handler: async () => 'never' });

  it('resolves with the result a worker in another process commits, and rejects with the error of a job that failed', async () => {
    const done = await current.queue.enqueue(noop, {});
    const failed = await current.queue.enqueue(fails, {});
    const waits = [current.queue.result(done), current.queue.result(failed).catch((error: unknown) => error)];
    const worker = startCli(['worker', '--db', current.location, ...TASKS]);
    try {
      expect(await waits[0]).toBe('ok');
      const error = await waits[1];
      expect(error).toBeInstanceOf(JobFailedError);
      expect(error).toMatchObject({ jobId: failed.id, error: { name: 'Error', message: 'this task always fails' } });
      expect((error as Error).message).toBe(`job ${failed.id} failed: Error: this task always fails`);
    } finally {
      await stopCli(worker);
    }
  });

  it('rejects a cancelled job, a purged one, a missing one, a timeout and an abort, each with its own error', async () => {
    const other = defineTask({ name: 'nobody_runs_this', validate: asObject, handler: async () => null });
    const [cancelled, purged, late, aborted] = await Promise.all([1, 2, 3, 4].map((n) => current.queue.enqueue(other, { n })));
    const waitCancelled = current.queue.result(cancelled!).catch((error: unknown) => error);
    const waitPurged = current.queue.result(purged!, { timeoutMs: 60_000 }).catch((error: unknown) => error);
    // A wait that times out first; by its end the two waits above, in this process, have read their jobs.
    const timedOut = await current.queue.result(late!, { timeoutMs: 150 }).catch((error: unknown) => error);
    expect(timedOut).toBeInstanceOf(ResultTimeoutError);
    expect((timedOut as Error).message).toBe(`job ${late!.id} is still queued after 150 ms`);
    await current.db.run("update jobs set state = 'cancelled', finished_at = ? where id = ?", Date.now(), cancelled!.id);
    expect(await waitCancelled).toEqual(new JobCancelledError(cancelled!.id));
    await current.db.run('delete from jobs where id = ?', purged!.id);
    const gone = await waitPurged;
    expect(gone).toBeInstanceOf(JobNotFoundError);
    expect(gone).toMatchObject({ jobId: purged!.id, purged: true });

    await expect(current.queue.result(9_999)).rejects.toMatchObject({ name: 'JobNotFoundError', jobId: 9_999, purged: false });
    const stop = new AbortController();
    const waitAborted = current.queue.result(aborted!).catch((error: unknown) => error);
    const reason = new Error('the caller gave up');
    stop.abort(reason);
    expect(await current.queue.result(aborted!, { signal: stop.signal }).catch((error: unknown) => error)).toBe(reason);
    await expect(current.queue.result(late!, { timeoutMs: 0 })).rejects.toThrow(UsageError);
    await current.db.run("update jobs set state = 'cancelled' where id = ?", aborted!.id);
    expect(await waitAborted).toBeInstanceOf(JobCancelledError);
    // Every wait is over: none is left recorded as waiting.
    if (engine.name === 'postgres')
      await waitFor(async () => (await current.db.count('select count(*) from job_waiters')) === 0, 'no wait left recorded');
  });

  it('run enqueues and waits; a handler that waits for another job is refused at once and its job fails', async () => {
    let inner: number | undefined;
    const waiter = defineTask<Record<string, unknown>, unknown>({
      name: 'waits_inside',
      maxAttempts: 1,
      validate: asObject,
      handler: async () => current.queue.result(inner!),
    });
    const stopping = new AbortController();
    const worker = current.queue.worker({ tasks: [noop, waiter], concurrency: 2, pollMs: 50 });
    const running = worker.run(stopping.signal);
    try {
      expect(await current.queue.run(noop, {})).toBe('ok');
      inner = (await current.queue.enqueue(noop, {})).id;
      const refused = await current.queue.run(waiter, {}).catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(JobFailedError);
      expect((refused as JobFailedError).error).toMatchObject({ name: 'UsageError' });
      expect((refused as JobFailedError).error?.message).toMatch(/handler waits for job \d+: it would hold its worker's slot/);
    } finally {
      stopping.abort();
      await running;
    }
  });
});
