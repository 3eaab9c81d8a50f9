import { toError } from '../errors.js';
import type { Claim, ClaimedJob, JobStore } from '../store/store.js';
import { DEFAULT_BACKOFF, retryDelayMs } from './backoff.js';
import { JobTimeoutError, LeaseLostError, PermanentJobError, serializeError, ShutdownError } from './errors.js';
import { createTaskContext, finishJob, type LeaseKeeping } from './job-context.js';
import { describeError, describeResult, elapsed, formatSeconds } from './log-format.js';
import type { StorageFaults } from './storage-faults.js';
import type { TaskDefinition } from './task.js';
import type { JobEvent, Logger, WorkerEvents } from './worker-types.js';

// One job's life once claimed: run -> complete | fail | release | abandon, in this file. A run's
// `state` is the one field its timeout, the heartbeat, a shutdown and a second claim all read.

/**
 * - `running`: the handler runs; any abort stops it.
 * - `completing`: its completion waits for a commit; the lease's fence decides whether it lands,
 *   so a heartbeat or shutdown leaves it alone; a timeout or a second claim still stops it.
 * - `committing`: its completion's write has begun; an abort waits for the commit, which decides.
 * - `succeeded`: its completion committed. Nothing can take that back.
 * - `aborted`: stopped (timeout, shutdown, lost lease) before any completion committed.
 */
export type RunState = 'running' | 'completing' | 'committing' | 'succeeded' | 'aborted';

/**
 * A job a worker is running. Its AbortController is made only when the task asks for its signal:
 * most tasks never do, and one per job was a measurable part of draining no-op jobs.
 */
export class JobRun {
  readonly job: ClaimedJob;
  /** What every write about this run is fenced by. */
  readonly claim: Claim;
  #state: RunState = 'running';
  /** Its handler was called (a job claimed ahead waits for a slot first). */
  started = false;
  /** When its handler was called (performance.now()). */
  startedAt = 0;
  /** What its completion recorded as the job's result, once `succeeded`. */
  result: unknown;
  #reason: Error | undefined;
  /** An abort or stop that came during a completion: it takes effect once the completion has settled. */
  #deferred: Error | undefined;
  #controller: AbortController | undefined;
  #onAbort: ((reason: Error) => void) | undefined;

  constructor(job: ClaimedJob, workerId: string) {
    this.job = job;
    this.claim = { jobId: job.id, workerId, attempt: job.attempts };
  }

  get state(): RunState {
    return this.#state;
  }

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  /** Why the job was aborted; undefined while it was not. */
  get reason(): Error | undefined {
    return this.#reason;
  }

  /**
   * Stops the run (a timeout, a second claim of its job). A completion whose write has begun
   * decides first: the abort waits for its commit. A run that succeeded stays succeeded; a handler
   * still running after its completion is told to stop all the same.
   */
  abort(reason: Error): void {
    switch (this.#state) {
      case 'committing':
        this.#deferred ??= reason;
        return;
      case 'aborted':
        return;
      case 'succeeded':
        if (!this.#reason) this.#interrupt(reason);
        return;
      default:
        this.#state = 'aborted';
        this.#interrupt(reason);
    }
  }

  /**
   * Stops the run unless a completion is under way (a lost lease seen by the heartbeat, a
   * shutdown): the lease's fence decides that one, and the stop takes effect once it has (on a
   * completion that failed, or a handler still running after one that committed).
   */
  stop(reason: Error): void {
    if (this.#state === 'completing' || this.#state === 'committing') this.#deferred ??= reason;
    else this.abort(reason);
  }

  #interrupt(reason: Error): void {
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

  /** Runs a completion of this job (see RunState): `succeeded` once `commit` resolves. */
  async runCompletion<T>(commit: () => Promise<T>): Promise<T> {
    this.throwIfAborted();
    if (this.#state !== 'running') throw new Error(`job ${this.job.id} was completed already: complete() may be called once`);
    this.#state = 'completing';
    try {
      const value = await commit();
      this.result = value;
      this.#state = 'succeeded';
      return value;
    } finally {
      // A completion that failed (its commit, or its write threw) leaves the handler running again.
      if (this.state === 'completing' || this.state === 'committing') this.#state = 'running';
      const deferred = this.#deferred;
      this.#deferred = undefined;
      if (deferred) this.abort(deferred);
    }
  }

  /** Inside the completion's transaction, as its write begins: aborted while waiting for it, it does not commit after all. */
  beginCommit(): void {
    this.throwIfAborted();
    this.#state = 'committing';
  }
}

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
    const result = await run.race(task.handler(payload, createTaskContext(context.store, run, context.leases))).finally(returned);
    if (run.state !== 'succeeded') await finishJob(context.store, run, result);
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
    const retry = !(error instanceof PermanentJobError) && job.attempts < job.max_attempts;
    const delay = retry ? retryDelayMs(job.attempts, task?.backoff ?? DEFAULT_BACKOFF) : 0;
    const recorded = await store.failAttempt(claim, serializeError(error), retry ? Date.now() + delay : null);
    const event = () => ({ id: job.id, task: job.task, attempt: job.attempts, error });
    if (!recorded) {
      log.warn(`${name} failed but is no longer held by this worker: ${describeError(error)}`);
    } else if (retry) {
      context.settled('retried', event);
      log.warn(`${name} retry: Retry in ${formatSeconds(delay)} (attempt ${job.attempts} of ${job.max_attempts} failed): ${describeError(error)}`);
    } else {
      context.settled('failed', event);
      log.error(`${name} failed in ${elapsed(started)} after ${job.attempts} attempt(s): ${describeError(error)}`);
      if (error.stack) log.debug(error.stack);
    }
  } catch (writeError) {
    log.error(`${name}: could not record the outcome (${toError(writeError).message}); its lease will expire and return it to the queue`);
  }
}

function validatePayload<P>(task: TaskDefinition<P>, job: ClaimedJob): P {
  try {
    return task.validate(JSON.parse(job.payload));
  } catch (error) {
    throw new PermanentJobError(`invalid payload for ${task.name}: ${toError(error).message}`);
  }
}
