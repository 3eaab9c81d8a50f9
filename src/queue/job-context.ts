import type { Kysely, Transaction } from 'kysely';
import type { Database, JobRow } from '../db/schema.js';
import { LeaseLostError } from './errors.js';
import { groupCommitterOf } from './group-commit.js';
import { completeJob, saveProgress, type ClaimedJob } from './store.js';
import type { TaskContext } from './task.js';

/**
 * A job a worker is running. Its AbortController is made only when the task asks for its signal:
 * most tasks never do, and one per job was a measurable part of draining no-op jobs.
 */
export class ActiveJob {
  readonly job: ClaimedJob;
  /** Inside its completion transaction: the fence decides, a heartbeat must not abort it. */
  completing = false;
  completed = false;
  aborted = false;
  #reason: unknown;
  #controller: AbortController | undefined;
  #onAbort: ((reason: unknown) => void) | undefined;

  constructor(job: ClaimedJob) {
    this.job = job;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.aborted) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Why the job was aborted (timeout, shutdown, lost lease); undefined while it was not. */
  get reason(): unknown {
    return this.#reason;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#onAbort?.(reason);
  }

  throwIfAborted(): void {
    if (this.aborted) throw this.#reason;
  }

  /** Settles like `work`, or rejects as soon as the job is aborted; `work` may go on but is ignored. */
  race<T>(work: Promise<T>): Promise<T> {
    if (this.aborted) {
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

/** What a task's handler gets: progress and completion, both fenced by the lease of `workerId`. */
export function createTaskContext(db: Kysely<Database>, workerId: string, active: ActiveJob): TaskContext {
  const { job } = active;
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
      if (!(await saveProgress(db, job.id, workerId, current, total))) {
        const error = lostLease(job.id, workerId);
        active.abort(error);
        throw error;
      }
    },
    complete: (write) => commitCompletion(db, workerId, active, write),
  };
}

/** Marks a job that wrote nothing of its own succeeded with `result` (fenced, group-committed). */
export async function finishJob(db: Kysely<Database>, workerId: string, active: ActiveJob, result: unknown): Promise<void> {
  const { job } = active;
  active.throwIfAborted();
  active.completing = true;
  try {
    const held = await groupCommitterOf(db).complete({
      jobId: job.id,
      workerId,
      attempt: job.attempts,
      result: JSON.stringify(result ?? null),
      abortedReason: () => (active.aborted ? (active.reason ?? new Error(`job ${job.id} was aborted`)) : undefined),
    });
    if (!held) throw lostLease(job.id, workerId);
    active.completed = true;
  } finally {
    active.completing = false;
  }
}

async function commitCompletion<R>(
  db: Kysely<Database>,
  workerId: string,
  active: ActiveJob,
  write: (trx: Transaction<Database>) => Promise<R>,
): Promise<R> {
  const { job } = active;
  active.throwIfAborted();
  active.completing = true;
  try {
    const result = await groupCommitterOf(db).submit(async (trx) => {
      // Aborted (timeout, shutdown) while waiting for the batch: do not commit after all.
      active.throwIfAborted();
      const value = await write(trx);
      const completion = { jobId: job.id, workerId, attempt: job.attempts, result: JSON.stringify(value ?? null) };
      if (!(await completeJob(trx, completion))) throw lostLease(job.id, workerId);
      return value;
    });
    active.completed = true;
    return result;
  } finally {
    active.completing = false;
  }
}

function lostLease(jobId: number, workerId: string): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
