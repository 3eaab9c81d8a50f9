import type { Claim, ClaimedJob } from '../store/store.js';

// A claimed job's run as the worker, its heartbeat, a timeout and a shutdown see it: its state,
// the one field all of them read, and how each may stop it. What the run does is job-life.ts.

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
