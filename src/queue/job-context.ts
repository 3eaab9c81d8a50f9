import { LeaseLostError } from './errors.js';
import type { Claim, ClaimedJob, JobStore, StoreTransaction } from '../store/store.js';
import { jobSpec, type TaskContext } from './task.js';

/**
 * A job a worker is running. Its AbortController is made only when the task asks for its signal:
 * most tasks never do, and one per job was a measurable part of draining no-op jobs.
 */
export class ActiveJob {
  readonly job: ClaimedJob;
  /** What every write about this run is fenced by. */
  readonly claim: Claim;
  /** Inside its completion transaction: the fence decides, a heartbeat must not abort it. */
  completing = false;
  completed = false;
  /** What its completion recorded as the job's result, once `completed`. */
  result: unknown;
  #reason: Error | undefined;
  /** Its completion's write has begun: an abort now waits (in `#deferred`) for the commit, which decides. */
  #committing = false;
  #deferred: Error | undefined;
  #controller: AbortController | undefined;
  #onAbort: ((reason: Error) => void) | undefined;

  constructor(job: ClaimedJob, workerId: string) {
    this.job = job;
    this.claim = { jobId: job.id, workerId, attempt: job.attempts };
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Why the job was aborted (timeout, shutdown, lost lease); undefined while it was not. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  abort(reason: Error): void {
    if (this.#reason) return;
    if (this.#committing) {
      this.#deferred ??= reason;
      return;
    }
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.(reason);
  }

  throwIfAborted(): void {
    if (this.#reason) throw this.#reason;
  }

  /** Settles like `work`, or rejects as soon as the job is aborted; `work` may go on but is ignored. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.#reason) {
      work.catch(() => {});
      return Promise.reject(this.#reason);
    }
    return new Promise<T>((resolve, reject) => {
      this.#onAbort = reject;
      work.then(resolve, reject);
    });
  }

  /**
   * Runs a completion of this job: meanwhile the fence decides, not a heartbeat. Once its write has
   * begun (`beginCommit`), a timeout, shutdown or second claim no longer decides either: it takes
   * effect when the commit has settled, so a job whose completion committed is reported succeeded.
   */
  async runCompletion<T>(commit: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    this.completing = true;
    try {
      const value = await commit();
      this.result = value;
      this.completed = true;
      return value;
    } finally {
      this.completing = false;
      this.#committing = false;
      const deferred = this.#deferred;
      this.#deferred = undefined;
      if (deferred) this.abort(deferred);
    }
  }

  /** Inside the completion's transaction, as its write begins: aborted while waiting for it, it does not commit after all. */
  beginCommit(): void {
    this.throwIfAborted();
    this.#committing = true;
  }
}

const HELD_CONNECTION =
  'inside complete(), query through its trx: the database has one connection and this transaction holds it';

/** Progress is written at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

/**
 * What a completion does for the worker when its write ran longer than the worker's heartbeat:
 * it held the one connection (and SQLite's one write lock) all that time, so no heartbeat could
 * run; `renew` pushes out the worker's leases in the same transaction, before it commits.
 */
export interface LeaseKeeping {
  /** Whether the worker's leases are older than its heartbeat interval. */
  due(): boolean;
  renew(tx: StoreTransaction): Promise<void>;
}

/** What a task's handler gets: progress and completion, both fenced by the run's claim. */
export function createTaskContext(store: JobStore, active: ActiveJob, leases?: LeaseKeeping): TaskContext {
  const { job, claim } = active;
  let lastProgressAt = 0;
  return {
    jobId: job.id,
    attempt: job.attempts,
    db: store.db,
    get signal() {
      return active.signal;
    },
    async progress(current, total) {
      active.throwIfAborted();
      const now = Date.now();
      if (current < total && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      if (!(await store.saveProgress(claim, current, total))) {
        const error = lostLease(claim);
        active.abort(error);
        throw error;
      }
    },
    complete: (write) =>
      active.runCompletion(() =>
        store.write(
          async (tx) => {
            active.beginCommit();
            const value = await write(tx.db, { enqueue: async (task, payload, options) => tx.enqueue(jobSpec(task, payload, options)) });
            if (leases?.due()) await leases.renew(tx);
            if (!(await tx.complete({ ...claim, result: JSON.stringify(value ?? null) }))) throw lostLease(claim);
            return value;
          },
          { heldMessage: HELD_CONNECTION },
        ),
      ),
  };
}

/** Marks a job that wrote nothing of its own succeeded with `result` (fenced, group-committed). */
export function finishJob(store: JobStore, active: ActiveJob, result: unknown): Promise<unknown> {
  return active.runCompletion(async () => {
    const completion = { ...active.claim, result: JSON.stringify(result ?? null), abortedReason: () => active.reason };
    if (!(await store.complete(completion))) throw lostLease(active.claim);
    return result;
  });
}

function lostLease({ jobId, workerId }: Claim): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
