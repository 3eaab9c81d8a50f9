import type { Kysely, Transaction } from 'kysely';
import type { Database, JobRow } from '../db/schema.js';
import { LeaseLostError } from './errors.js';
import { groupCommitterOf } from './group-commit.js';
import { completeJob, saveProgress } from './store.js';
import type { TaskContext } from './task.js';

/** A job a worker is running. */
export interface ActiveJob {
  job: JobRow;
  controller: AbortController;
  /** Inside its completion transaction: the fence decides, a heartbeat must not abort it. */
  completing: boolean;
  completed: boolean;
}

/** Progress is written at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** What a task's handler gets: progress and completion, both fenced by the lease of `workerId`. */
export function createTaskContext(db: Kysely<Database>, workerId: string, active: ActiveJob): TaskContext {
  const { job, controller } = active;
  let lastProgressAt = 0;
  return {
    jobId: job.id,
    attempt: job.attempts,
    db,
    signal: controller.signal,
    async progress(current, total) {
      controller.signal.throwIfAborted();
      const now = Date.now();
      if (current < total && now - lastProgressAt < PROGRESS_INTERVAL_MS) return;
      lastProgressAt = now;
      if (!(await saveProgress(db, job.id, workerId, current, total))) {
        const error = lostLease(job.id, workerId);
        controller.abort(error);
        throw error;
      }
    },
    complete: (write) => commitCompletion(db, workerId, active, write, false),
  };
}

/** Marks a job that wrote nothing of its own succeeded with `result` (fenced, group-committed). */
export function finishJob(db: Kysely<Database>, workerId: string, active: ActiveJob, result: unknown): Promise<unknown> {
  return commitCompletion(db, workerId, active, async () => result, true);
}

async function commitCompletion<R>(
  db: Kysely<Database>,
  workerId: string,
  active: ActiveJob,
  write: (trx: Transaction<Database>) => Promise<R>,
  single: boolean,
): Promise<R> {
  const { job, controller } = active;
  controller.signal.throwIfAborted();
  active.completing = true;
  try {
    const result = await groupCommitterOf(db).submit(
      async (trx) => {
        // Aborted (timeout, shutdown) while waiting for the batch: do not commit after all.
        controller.signal.throwIfAborted();
        const value = await write(trx);
        if (!(await completeJob(trx, job.id, workerId, JSON.stringify(value ?? null)))) throw lostLease(job.id, workerId);
        return value;
      },
      { single },
    );
    active.completed = true;
    return result;
  } finally {
    active.completing = false;
  }
}

function lostLease(jobId: number, workerId: string): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
