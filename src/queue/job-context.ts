import { LeaseLostError } from './errors.js';
import type { Claim, JobStore, StoreTransaction } from '../store/store.js';
import type { JobRun } from './run-job.js';
import { jobSpec, type TaskContext } from './task.js';

const HELD_CONNECTION =
  'inside complete(), query through its trx: a query through context.db would wait for the connection this transaction holds (SQLite) or run outside it (PostgreSQL)';

/** Progress is written at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

/**
 * What a completion does for the worker when its write ran longer than the worker's heartbeat:
 * the store may have had to hold back every other statement meanwhile (SQLite's one connection
 * does), heartbeats included; `renew` pushes out the worker's leases in the same transaction,
 * before it commits.
 */
export interface LeaseKeeping {
  /** Whether the worker's leases are older than its heartbeat interval. */
  due(): boolean;
  renew(tx: StoreTransaction): Promise<void>;
}

/** What a task's handler gets: progress and completion, both fenced by the run's claim. */
export function createTaskContext(store: JobStore, run: JobRun, leases: LeaseKeeping): TaskContext {
  const { job, claim } = run;
  let lastProgressAt = 0;
  return {
    jobId: job.id,
    attempt: job.attempts,
    db: store.db,
    get signal() {
      return run.signal;
    },
    async progress(current, total) {
      run.throwIfAborted();
      const now = Date.now();
      if (current < total && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      if (!(await store.saveProgress(claim, current, total))) {
        const error = lostLease(claim);
        run.abort(error);
        throw error;
      }
    },
    complete: (write) =>
      run.runCompletion(() =>
        store.write(
          async (tx) => {
            run.beginCommit();
            const value = await write(tx.db, { enqueue: async (task, payload, options) => tx.enqueue(jobSpec(task, payload, options)) });
            if (leases.due()) await leases.renew(tx);
            if (!(await tx.complete({ ...claim, result: JSON.stringify(value ?? null) }))) throw lostLease(claim);
            return value;
          },
          { heldMessage: HELD_CONNECTION },
        ),
      ),
  };
}

/** Marks a job that wrote nothing of its own succeeded with `result` (fenced, group-committed). */
export function finishJob(store: JobStore, run: JobRun, result: unknown): Promise<unknown> {
  return run.runCompletion(async () => {
    const completion = { ...run.claim, result: JSON.stringify(result ?? null), abortedReason: () => run.reason };
    if (!(await store.complete(completion))) throw lostLease(run.claim);
    return result;
  });
}

function lostLease({ jobId, workerId }: Claim): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
