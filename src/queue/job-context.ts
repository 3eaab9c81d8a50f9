import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../db/schema.js';
import { LeaseLostError } from './errors.js';
import { groupCommitterOf } from './group-commit.js';
import { completeJob, saveProgress, type Claim, type ClaimedJob } from './store.js';
import type { TaskContext } from './task.js';

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
  #reason: Error | undefined;
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
}

/** Progress is written at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** What a task's handler gets: progress and completion, both fenced by the run's claim. */
export function createTaskContext(db: Kysely<Database>, active: ActiveJob): TaskContext {
  const { job, claim } = active;
  let lastProgressAt = 0;
  return {
    jobId: job.id,
    attempt: job.attempts,
    db,
    get signal() {
      return active.signal;
    },
    async progress(current, total) {
      active.throwIfAborted();
      const now = Date.now();
      if (current < total && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      if (!(await saveProgress(db, claim, current, total))) {
        const error = lostLease(claim);
        active.abort(error);
        throw error;
      }
    },
    complete: (write) =>
      completing(active, () =>
        groupCommitterOf(db).submit(async (trx) => {
          // Aborted (timeout, shutdown) while waiting for the batch: do not commit after all.
          active.throwIfAborted();
          const value = await write(trx);
          if (!(await completeJob(trx, { ...claim, result: JSON.stringify(value ?? null) }))) throw lostLease(claim);
          return value;
        }),
      ),
  };
}

/** Marks a job that wrote nothing of its own succeeded with `result` (fenced, group-committed). */
export function finishJob(db: Kysely<Database>, active: ActiveJob, result: unknown): Promise<void> {
  return completing(active, async () => {
    const completion = { ...active.claim, result: JSON.stringify(result ?? null), abortedReason: () => active.reason };
    if (!(await groupCommitterOf(db).complete(completion))) throw lostLease(active.claim);
  });
}

/** Runs a completion of `active`: meanwhile the fence decides, not a heartbeat. */
async function completing<T>(active: ActiveJob, commit: () => Promise<T>): Promise<T> {
  active.throwIfAborted();
  active.completing = true;
  try {
    const value = await commit();
    active.completed = true;
    return value;
  } finally {
    active.completing = false;
  }
}

function lostLease({ jobId, workerId }: Claim): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
