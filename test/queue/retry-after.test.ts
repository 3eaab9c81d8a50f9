import { describe, expect, it } from 'vitest';
import { defineTask, UsageError, type Job, type Logger, type TaskDefinition } from '../../src/index.js';
import { RetryAfterError } from '../../src/queue/errors.js';
import type { HistoryEntry } from '../../src/store/schema.js';
import { queueOnEachTest } from '../engine-queue.js';
import { ENGINES } from '../engines.js';

// A handler that throws RetryAfterError(ms) has its job run again ms after the throw, not after
// the task's backoff (set to a minute here, so a retry at the backoff's time would never come
// within the test), and not before: the worker claims every 20 ms meanwhile. The attempt counts
// against maxAttempts unless the error says otherwise.

const DELAY_MS = 300;
const NO_BACKOFF_IN_TIME = { baseMs: 60_000, maxMs: 60_000 };
const asObject = (payload: unknown) => payload as Record<string, unknown>;

/** A handler that throws `throws(attempt)` when it returns an error, else returns `done`; `thrownAt` gets the time of each throw. */
function task(
  name: string,
  maxAttempts: number,
  throws: (attempt: number) => Error | undefined,
  thrownAt: number[],
): TaskDefinition<Record<string, unknown>, string> {
  return defineTask({
    name,
    validate: asObject,
    maxAttempts,
    backoff: NO_BACKOFF_IN_TIME,
    handler: async (_payload, context) => {
      const error = throws(context.attempt);
      if (!error) return `done at attempt ${context.attempt}`;
      thrownAt.push(Date.now());
      throw error;
    },
  });
}

function historyOf(job: Job | undefined): HistoryEntry[] {
  return JSON.parse(job?.history ?? '[]') as HistoryEntry[];
}

/** A logger that keeps its warnings. */
function keptWarnings(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, debug() {}, info() {}, warn: (line) => warnings.push(line), error() {}, infoEnabled: false };
}

describe('RetryAfterError', () => {
  it('takes a delay from 0 ms to a year, and refuses any other with a UsageError as it is made', () => {
    const cause = new Error('429 Too Many Requests');
    expect(new RetryAfterError(0)).toMatchObject({ name: 'RetryAfterError', delayMs: 0, countsAsAttempt: true, message: 'retry after 0 ms' });
    expect(new RetryAfterError(1.5, { cause, countsAsAttempt: false })).toMatchObject({
      delayMs: 1.5,
      countsAsAttempt: false,
      message: cause.message,
      cause,
    });
    expect(new RetryAfterError(10, { message: 'rate limited', cause })).toMatchObject({ message: 'rate limited' });
    expect(new RetryAfterError(365 * 24 * 3_600_000).delayMs).toBe(365 * 24 * 3_600_000);
    // A Retry-After date taken for a number of seconds (Date.now() * 1000 ms) is refused, not stored.
    for (const delay of [-1, Number.NaN, Number.POSITIVE_INFINITY, 365 * 24 * 3_600_000 + 1, Date.now() * 1000, '5' as never, undefined as never]) {
      expect(() => new RetryAfterError(delay), String(delay)).toThrow(UsageError);
    }
  });
});

describe.each(ENGINES)('retry after a delay the task asks for, on $name', (engine) => {
  const current = queueOnEachTest(engine);

  /** Runs a worker (claiming every 20 ms) until `job` has ended; returns its row and the worker's warnings. */
  async function workUntilEnded(tasks: TaskDefinition<Record<string, unknown>, string>[], job: Job) {
    const logger = keptWarnings();
    const worker = current.queue.worker({ tasks, concurrency: 1, pollMs: 20, logger });
    const stop = new AbortController();
    const ended = new Promise<void>((resolve) => {
      for (const outcome of ['succeeded', 'failed'] as const) worker.on(outcome, (event) => event.id === job.id && resolve());
    });
    const retriedRows: Array<Job | undefined> = [];
    worker.on('retried', async (event) => {
      if (event.id === job.id) retriedRows.push(await current.queue.getJob(job.id));
    });
    const running = worker.run(stop.signal);
    await ended;
    stop.abort();
    await running;
    return { row: (await current.queue.getJob(job.id))!, warnings: logger.warnings, retriedRows };
  }

  it('queues the job again at the time asked (not the backoff), runs it no earlier, and counts the attempt', async () => {
    const thrownAt: number[] = [];
    const limited = task('rate_limited', 3, (attempt) => (attempt === 1 ? new RetryAfterError(DELAY_MS, { message: '429' }) : undefined), thrownAt);
    const job = await current.queue.enqueue(limited, {});
    const { row, warnings, retriedRows } = await workUntilEnded([limited], job);

    expect(row).toMatchObject({ state: 'succeeded', attempts: 2, result: JSON.stringify('done at attempt 2') });
    const [retry] = historyOf(row);
    expect(retry).toMatchObject({ attempt: 1, state: 'queued', error: { name: 'RetryAfterError', message: '429' } });
    expect(retry!.retry_at!).toBeGreaterThanOrEqual(thrownAt[0]! + DELAY_MS);
    expect(retry!.retry_at! - retry!.at).toBeLessThanOrEqual(DELAY_MS + 1);
    // As the retry was recorded: queued until then.
    expect(retriedRows[0]).toMatchObject({ state: 'queued', run_at: retry!.retry_at, attempts: 1 });
    expect(row.started_at!).toBeGreaterThanOrEqual(retry!.retry_at!);
    expect(warnings).toEqual([
      `Task rate_limited[${job.id}] retry: Retry at ${new Date(retry!.retry_at!).toISOString()} (asked by the task, in ${DELAY_MS}ms; attempt 1 of 3 failed): RetryAfterError('429')`,
    ]);
  });

  it('fails the job with the error when the counted attempt was its last', async () => {
    const thrownAt: number[] = [];
    const limited = task('rate_limited_once', 1, () => new RetryAfterError(DELAY_MS, { message: '429' }), thrownAt);
    const job = await current.queue.enqueue(limited, {});
    const { row } = await workUntilEnded([limited], job);

    expect(row).toMatchObject({ state: 'failed', attempts: 1 });
    expect(JSON.parse(row.error!)).toMatchObject({ name: 'RetryAfterError', message: '429' });
    expect(historyOf(row)).toMatchObject([{ attempt: 1, state: 'failed', retry_at: null, error: { name: 'RetryAfterError' } }]);
    expect(thrownAt).toHaveLength(1);
  });

  it('with countsAsAttempt false, gives the attempt back and retries even the last one', async () => {
    const thrownAt: number[] = [];
    let runs = 0;
    // Attempt 1 fails as any error does (its backoff cut short by hand below), attempt 2, the last,
    // asks to be retried uncounted, and runs again as attempt 2.
    const flaky = task(
      'flaky_then_limited',
      2,
      () => {
        runs += 1;
        if (runs === 1) return new Error('connection reset');
        if (runs === 2) return new RetryAfterError(DELAY_MS, { countsAsAttempt: false, message: '429' });
        return undefined;
      },
      thrownAt,
    );
    const job = await current.queue.enqueue(flaky, {});
    const logger = keptWarnings();
    const worker = current.queue.worker({ tasks: [flaky], concurrency: 1, pollMs: 20, logger });
    const stop = new AbortController();
    const succeeded = new Promise<void>((resolve) => worker.on('succeeded', () => resolve()));
    let failed = false;
    worker.on('failed', () => {
      failed = true;
    });
    const retried: number[] = [];
    worker.on('retried', async (event) => {
      retried.push(event.attempt);
      // The first retry waits for the minute-long backoff: brought forward, as an operator's edit would.
      if (retried.length === 1) await current.db.run('update jobs set run_at = ? where id = ?', Date.now(), job.id);
    });
    const running = worker.run(stop.signal);
    await succeeded;
    stop.abort();
    await running;

    const row = (await current.queue.getJob(job.id))!;
    expect(failed).toBe(false);
    expect(retried).toEqual([1, 2]);
    expect(row).toMatchObject({ state: 'succeeded', attempts: 2, result: JSON.stringify('done at attempt 2') });
    const [first, second] = historyOf(row);
    expect(first).toMatchObject({ attempt: 1, state: 'queued', error: { message: 'connection reset' } });
    expect(second).toMatchObject({ attempt: 2, state: 'queued', error: { name: 'RetryAfterError', message: '429' } });
    expect(second!.retry_at!).toBeGreaterThanOrEqual(thrownAt[1]! + DELAY_MS);
    expect(row.started_at!).toBeGreaterThanOrEqual(second!.retry_at!);
    expect(logger.warnings[1]).toMatch(/retry: Retry at \S+ \(asked by the task, in 300ms; attempt 2 of 2 not counted\): RetryAfterError\('429'\)$/);
  });
});
