import { toError } from '../errors.js';
import type { Claim, ClaimedJob, JobStore } from '../store/store.js';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.js';
import { JobTimeoutError, LeaseLostError, PermanentJobError, RetryAfterError, serializeError, ShutdownError } from './errors.js';
import type { JobRun } from './job-run.js';
import type { LeaseKeeping } from './leases.js';
import { describeError, describeResult, elapsed, formatSeconds } from './log-format.js';
import { runHandler } from './results.js';
import type { StorageFaults } from './storage-faults.js';
import { jobSpec, type TaskContext, type TaskDefinition } from './task.js';
import type { JobEvent, Logger, WorkerEvents } from './worker-types.js';

// One job's life once the worker has claimed it, top to bottom: run its handler, then complete
// it (its own write and the fenced mark, in one transaction, or the batched mark), or settle its
// failure (stopped for a damaged database, released, abandoned, retried, failed). Its claim is
// the worker's (worker.ts); a cancel is the operator's, seen here as a lost lease.

const HELD_CONNECTION =
  'inside complete(), query through its trx: a query through context.db would wait for the connection this transaction holds (SQLite) or run outside it (PostgreSQL)';

/** Progress is written at most this often (and always at the end). */
const PROGRESS_INTERVAL_MS = 100;

/** What a run needs of its worker. */
export interface RunContext {
  store: JobStore;
  tasks: ReadonlyMap<string, TaskDefinition<unknown, unknown>>;
  leases: LeaseKeeping;
  faults: StorageFaults;
  log: Logger;
  /** Counts the outcome in the worker's summary, and tells its listeners (released jobs are only counted). */
  settled(outcome: keyof WorkerEvents | 'released', event: () => JobEvent): void;
  /** Stops the worker claiming (the database is damaged). */
  stopWorker(): void;
}

/**
 * Runs one claimed job to its end. Never rejects: whatever happens, the attempt is settled.
 * `returned` is called once the handler has returned (or thrown, or was stopped), before its
 * outcome is written.
 */
export async function runJob(run: JobRun, context: RunContext, returned: () => void = () => {}): Promise<void> {
  const { job } = run;
  const started = performance.now();
  const logInfo = context.log.infoEnabled ?? true;
  if (logInfo) context.log.info(`Task ${job.task}[${job.id}] received`);
  const task = context.tasks.get(job.task);
  let timer: NodeJS.Timeout | undefined;
  try {
    // Stopped while it waited for a slot (claimed ahead): its handler is never called.
    run.throwIfAborted();
    if (!task) {
      const known = [...context.tasks.keys()].sort().join(', ') || 'none';
      throw new PermanentJobError(`unknown task '${job.task}' (this worker knows: ${known})`);
    }
    const payload = validatePayload(task, job);
    if (task.timeoutMs !== undefined) {
      const timeoutMs = task.timeoutMs;
      timer = setTimeout(() => run.abort(new JobTimeoutError(`timed out after ${formatSeconds(timeoutMs)}`)), timeoutMs);
    }
    const result = await run.race(runHandler(job.id, () => task.handler(payload, taskContext(context.store, run, context.leases)))).finally(returned);
    if (run.state !== 'succeeded') await completeBatched(context.store, run, result);
  } catch (thrown) {
    // Its completion committed, and then it threw or was stopped (timed out, shut down): it succeeded.
    if (run.state !== 'succeeded') await settleFailure(run, toError(thrown), task, started, context);
  } finally {
    clearTimeout(timer);
  }
  if (run.state === 'succeeded') {
    if (logInfo) context.log.info(`Task ${job.task}[${job.id}] succeeded in ${elapsed(started)}: ${describeResult(run.result)}`);
    context.settled('succeeded', () => ({ id: job.id, task: job.task, attempt: job.attempts, result: run.result }));
  }
}

// WHATEVER WENT WRONG, THE ATTEMPT MUST BE SETTLED HERE (released, retried or failed) and this
// function MUST NOT THROW: a job left 'running' waits out its lease before anyone runs it again.
async function settleFailure(run: JobRun, error: Error, task: TaskDefinition | undefined, started: number, context: RunContext): Promise<void> {
  const { job, claim } = run;
  const { store, faults, log } = context;
  const name = `Task ${job.task}[${job.id}]`;
  try {
    if (faults.jobMetDamage(error)) {
      // Nothing more is claimed and the worker exits 1; the job stays as it is (its lease
      // brings it back once the database is restored).
      log.error(`${name} stopped: ${faults.describe(error).message}`);
      context.stopWorker();
      return;
    }
    if (error instanceof ShutdownError) {
      if (await store.release(claim)) context.settled('released', () => ({ id: job.id, task: job.task, attempt: job.attempts, error }));
      log.warn(`${name} returned to the queue: ${error.message}`);
      return;
    }
    if (error instanceof LeaseLostError) {
      log.warn(`${name} abandoned: ${error.message}`);
      return;
    }
    const next = nextAttempt(error, job, task, Date.now());
    const stored = serializeError(error);
    const recorded = next.counted
      ? await store.failAttempt(claim, stored, next.at)
      : await retryUncounted(store, claim, stored, next.at ?? Date.now());
    const event = () => ({ id: job.id, task: job.task, attempt: job.attempts, error });
    if (!recorded) {
      log.warn(`${name} failed but is no longer held by this worker: ${describeError(error)}`);
    } else if (next.at !== null) {
      context.settled('retried', event);
      log.warn(`${name} retry: ${describeRetry(next, job)}: ${describeError(error)}`);
    } else {
      context.settled('failed', event);
      log.error(`${name} failed in ${elapsed(started)} after ${job.attempts} attempt(s): ${describeError(error)}`);
      if (error.stack) log.debug(error.stack);
    }
  } catch (writeError) {
    log.error(`${name}: could not record the outcome (${toError(writeError).message}); its lease will expire and return it to the queue`);
  }
}

/** When a failed attempt's job runs again, and whether the attempt counted against its maxAttempts. */
interface NextAttempt {
  /** ms since the epoch; null: never, the job has failed. */
  at: number | null;
  delayMs: number;
  counted: boolean;
  /** The task asked for the time (RetryAfterError), rather than the backoff choosing it. */
  asked: boolean;
}

function nextAttempt(error: Error, job: ClaimedJob, task: TaskDefinition | undefined, now: number): NextAttempt {
  const attemptsLeft = job.attempts < job.max_attempts;
  if (error instanceof RetryAfterError) {
    // Rounded up: run_at is whole ms, and the job must not run before the time it was asked for.
    const delayMs = Math.ceil(error.delayMs);
    const counted = error.countsAsAttempt;
    return { at: attemptsLeft || !counted ? now + delayMs : null, delayMs, counted, asked: true };
  }
  if (error instanceof PermanentJobError || !attemptsLeft) return { at: null, delayMs: 0, counted: true, asked: false };
  const delayMs = retryDelayMs(job.attempts, task?.backoff ?? DEFAULT_BACKOFF);
  return { at: now + delayMs, delayMs, counted: true, asked: false };
}

/** Back to the queue at `retryAt`, the attempt given back (attempts - 1, as a release does): it does not use one of maxAttempts. */
function retryUncounted(store: JobStore, claim: Claim, error: string, retryAt: number): Promise<boolean> {
  return store.failAttempt(claim, error, retryAt, { counted: false });
}

/** `Retry in 1.5s (attempt 1 of 3 failed)`, or for a time the task asked for `Retry at <ISO time> (asked by the task, in 30s; ...)`. */
function describeRetry(next: NextAttempt, job: ClaimedJob): string {
  const attempt = `attempt ${job.attempts} of ${job.max_attempts} ${next.counted ? 'failed' : 'not counted'}`;
  if (!next.asked) return `Retry in ${formatSeconds(next.delayMs)} (${attempt})`;
  return `Retry at ${new Date(next.at ?? 0).toISOString()} (asked by the task, in ${formatSeconds(next.delayMs)}; ${attempt})`;
}

function validatePayload<P>(task: TaskDefinition<P>, job: ClaimedJob): P {
  try {
    return task.validate(JSON.parse(job.payload));
  } catch (error) {
    throw new PermanentJobError(`invalid payload for ${task.name}: ${toError(error).message}`);
  }
}

/** What a task's handler gets: progress and completion, both fenced by the run's claim. */
function taskContext(store: JobStore, run: JobRun, leases: LeaseKeeping): TaskContext {
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
function completeBatched(store: JobStore, run: JobRun, result: unknown): Promise<unknown> {
  return run.runCompletion(async () => {
    const completion = { ...run.claim, result: JSON.stringify(result ?? null), abortedReason: () => run.reason };
    if (!(await store.complete(completion))) throw lostLease(run.claim);
    return result;
  });
}

function lostLease({ jobId, workerId }: Claim): LeaseLostError {
  return new LeaseLostError(`job ${jobId} is no longer held by worker ${workerId} (cancelled, or taken over after its lease expired)`);
}
