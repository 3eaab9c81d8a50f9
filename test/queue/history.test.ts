import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import type { HistoryEntry } from '../../src/store/schema.js';
import type { Claim, JobStore, RecoveryError } from '../../src/store/store.js';
import { ENGINES } from '../engines.js';

// Every failed attempt's error goes into the job's history when it fails, whichever way it
// fails; a job put back in the queue drops the progress of the attempt that ended.

const NOOP_TASK = { tasks: ['noop'] };

/** The error a job whose lease ran out is recovered with (the queue's; its placeholders filled in by the store). */
const LEASE_EXPIRED: RecoveryError = {
  name: 'LeaseExpiredError',
  message: 'worker {worker} stopped renewing its lease during attempt {attempt} (killed or hung)',
};

const error = (message: string) => JSON.stringify({ name: 'Error', message, stack: `Error: ${message}\n    at here` });

/** In an equality check, a time (ms since the epoch) from `from` to `to`. */
function between(from: number, to: number) {
  return {
    asymmetricMatch: (actual: unknown) => typeof actual === 'number' && actual >= from && actual <= to,
    toString: () => `a time from ${from} to ${to}`,
  };
}

/** What `work` resolves to, and a match for the times it can have recorded: while it ran. */
async function timed<T>(work: () => Promise<T>): Promise<[T, ReturnType<typeof between>]> {
  const from = Date.now();
  const value = await work();
  return [value, between(from, Date.now())];
}

describe.each(ENGINES)('history on $name', (engine) => {
  let store: JobStore;

  beforeEach(async () => {
    store = await openStore(await engine.database());
  });

  afterEach(async () => {
    await store.close();
  });

  /** Enqueues a job, claims it as worker `w` and records progress 3/10; returns its claim. */
  async function claimedWithProgress(maxAttempts = 3): Promise<Claim> {
    const job = await store.enqueue({ task: 'noop', payload: {}, maxAttempts });
    const {
      jobs: [claimed],
    } = await store.claim('w', 1, 60_000, NOOP_TASK);
    const claim = { jobId: job.id, workerId: 'w', attempt: claimed!.attempts };
    expect(await store.saveProgress(claim, 3, 10)).toBe(true);
    return claim;
  }

  async function historyOf(id: number): Promise<HistoryEntry[]> {
    return JSON.parse((await store.getJob(id))!.history ?? '[]') as HistoryEntry[];
  }

  it('a failed attempt that will be retried is recorded, and the job drops its progress', async () => {
    const claim = await claimedWithProgress();
    const retryAt = Date.now() + 60_000;
    const [failed, at] = await timed(() => store.failAttempt(claim, error('boom'), retryAt));
    expect(failed).toBe(true);
    expect(await store.getJob(claim.jobId)).toMatchObject({ state: 'queued', run_at: retryAt, progress_current: null, progress_total: null });
    expect(await historyOf(claim.jobId)).toEqual([
      { at, attempt: 1, state: 'queued', retry_at: retryAt, error: { name: 'Error', message: 'boom', stack: 'Error: boom\n    at here' } },
    ]);
  });

  it('an attempt whose lease expired is recorded when the job is recovered, and the job drops its progress', async () => {
    const claim = await claimedWithProgress();
    // Once its 60 s lease has run out, the job is put back (the queue does it when a claim sees such a lease).
    const later = Date.now() + 120_000;
    expect(await store.recoverExpired(later, LEASE_EXPIRED)).toBe(1);
    expect(await store.getJob(claim.jobId)).toMatchObject({ state: 'queued', attempts: 1, progress_current: null, locked_by: null });
    expect(await historyOf(claim.jobId)).toEqual([
      {
        at: later,
        attempt: 1,
        state: 'queued',
        error: { name: 'LeaseExpiredError', message: 'worker w stopped renewing its lease during attempt 1 (killed or hung)' },
      },
    ]);
  });

  it('every attempt of a job that fails for good is kept, the last one included, and a retry by hand after them', async () => {
    const first = await claimedWithProgress(2);
    const [, firstFailedAt] = await timed(() => store.failAttempt(first, error('first'), 0));
    const {
      jobs: [again],
    } = await store.claim('w', 1, 60_000, NOOP_TASK);
    const second = { jobId: first.jobId, workerId: 'w', attempt: again!.attempts };
    await store.saveProgress(second, 7, 10);
    const [, secondFailedAt] = await timed(() => store.failAttempt(second, error('second'), null));
    // A job that failed for good keeps how far it got.
    expect(await store.getJob(first.jobId)).toMatchObject({ state: 'failed', attempts: 2, progress_current: 7 });
    const [, retriedAt] = await timed(() => store.retryJob(first.jobId));

    const history = await historyOf(first.jobId);
    expect(history.map(({ at, attempt, state, error, retried_from }) => [at, attempt, state, error?.message ?? retried_from])).toEqual([
      [firstFailedAt, 1, 'queued', 'first'],
      [secondFailedAt, 2, 'failed', 'second'],
      [retriedAt, 2, 'queued', 'failed'],
    ]);
  });

  it('a job given back at shutdown drops its progress; that is no failure, so nothing goes into history', async () => {
    const claim = await claimedWithProgress();
    expect(await store.release(claim)).toBe(true);
    expect(await store.getJob(claim.jobId)).toMatchObject({
      state: 'queued',
      attempts: 0,
      progress_current: null,
      progress_total: null,
      history: null,
    });
  });
});
