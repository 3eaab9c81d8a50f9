import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { toError } from '../errors.js';
import { LeaseLostError, ShutdownError } from './errors.js';
import type { ClaimedJob, JobStore } from '../store/store.js';
import { claimWithLimits } from './claim.js';
import { runJob, type RunContext } from './job-life.js';
import { JobRun } from './job-run.js';
import { Leases } from './leases.js';
import { CLAIM_RETRY_MS, liveWorkers, registerWorker } from './live-workers.js';
import { fireSchedules } from './schedule-firing.js';
import { startPruning } from './pruning.js';
import { publishDefinedLimits } from './limits.js';
import { Idle } from './idle.js';
import { Slots } from './slots.js';
import { formatSeconds } from './log-format.js';
import { DRAIN_GIVE_UP_AFTER, StorageFaults } from './storage-faults.js';
import { taskMap, type TaskDefinition } from './task.js';
import { hasLimits, type HeldBack, type TaskLimits } from '../store/limits.js';
import {
  DEFAULT_GRACE_MS,
  DEFAULT_LEASE_MS,
  DEFAULT_POLL_MS,
  silentLogger,
  type Logger,
  type WorkerEvents,
  type WorkerOptions,
  type WorkerSummary,
  tell,
} from './worker-types.js';

export * from './worker-types.js';

/**
 * Claim-ahead: while the jobs run shorter than SHORT_JOB_MS on average, a claim takes up to the
 * store's `claimAhead` jobs beyond the free slots, and the next claim waits until no more than the
 * slots' worth are left here: at concurrency 1 on SQLite one claim (one transaction) serves 65 jobs
 * instead of one, and their completions share a commit (a slot is held while a handler runs, not
 * while its completion commits). A job waiting here is leased to this worker, hidden from the
 * others, for at most about claimAhead x SHORT_JOB_MS; a worker whose jobs run longer claims only
 * for free slots.
 */
const SHORT_JOB_MS = 2;

function newWorkerId(): string {
  return `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
}

export class Worker extends EventEmitter<WorkerEvents> {
  readonly id = newWorkerId();
  readonly #store: JobStore;
  readonly #concurrency: number;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #graceMs: number;
  readonly #options: WorkerOptions;
  readonly #log: Logger;
  readonly #slots: Slots<JobRun>;
  readonly #running = new Map<number, JobRun>();
  readonly #summary: WorkerSummary = { succeeded: 0, failed: 0, retried: 0, released: 0 };
  #stopping = false;
  readonly #idle = new Idle();
  #noneRunning: (() => void) | undefined;
  readonly #faults: StorageFaults;
  readonly #leases: Leases;
  readonly #tasks: Map<string, TaskDefinition<unknown, unknown>>;
  /** The names of `#tasks`, as the claim takes them; and the limits of those that have any. */
  readonly #taskNames: string[];
  readonly #limits: Record<string, TaskLimits> | undefined;
  readonly #runContext: RunContext;
  /** The average run time of this worker's recent jobs, ms (an exponential moving average); unknown at first. */
  #averageRunMs = Number.POSITIVE_INFINITY;

  constructor(store: JobStore, options: WorkerOptions) {
    super();
    this.#store = store;
    this.#options = options;
    this.#concurrency = options.concurrency;
    this.#leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.#pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.#graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.#log = options.logger ?? silentLogger;
    this.#slots = new Slots(this.#concurrency);
    this.#faults = new StorageFaults(store, this.#log, options.drain ?? false);
    this.#leases = new Leases({
      store,
      workerId: this.id,
      leaseMs: this.#leaseMs,
      registered: options.register ?? true,
      runs: () => [...this.#running.values()],
      jobsDone: () => this.#summary.succeeded + this.#summary.failed,
      faults: this.#faults,
      stop: () => this.stop(),
    });
    this.#tasks = taskMap(options.tasks);
    this.#taskNames = [...this.#tasks.keys()].sort();
    const limited = [...this.#tasks.values()].filter((task) => hasLimits(task.limits));
    this.#limits = limited.length === 0 ? undefined : Object.fromEntries(limited.map((task) => [task.name, task.limits]));
    this.#runContext = {
      store,
      tasks: this.#tasks,
      leases: this.#leases,
      faults: this.#faults,
      log: this.#log,
      settled: (outcome, event) => {
        this.#summary[outcome] += 1;
        if (outcome !== 'released') tell(this, outcome, event, this.#log);
      },
      stopWorker: () => this.stop(),
    };
  }

  /**
   * Works jobs until `signal` aborts (or, with `drain`, until none is left). Never rejects for a
   * job's sake; rejects with a StorageError when the file is damaged, or when a draining worker's
   * claims keep failing for the file's sake (full disk, read-only), once its running jobs are settled.
   */
  async run(signal?: AbortSignal): Promise<WorkerSummary> {
    Worker.#inRun += 1;
    try {
      return await this.#run(signal);
    } finally {
      Worker.#inRun -= 1;
    }
  }

  /** How many workers of this process are running now (their `run` has not settled): none should be once an application has shut down. */
  static get running(): number {
    return Worker.#inRun;
  }

  static #inRun = 0;

  async #run(signal: AbortSignal | undefined): Promise<WorkerSummary> {
    const stop = () => this.stop();
    signal?.addEventListener('abort', stop, { once: true });
    if (signal?.aborted) this.stop();
    const register = this.#options.register ?? true;
    if (register) {
      const worker = { id: this.id, host: os.hostname(), pid: process.pid, concurrency: this.#concurrency, tasks: JSON.stringify(this.#taskNames) };
      const giveUpAfter = this.#options.drain ? DRAIN_GIVE_UP_AFTER : undefined;
      const wait = { log: this.#log, idle: this.#idle, stopped: () => this.#stopping, giveUpAfter };
      // Stopped before it could register (or it gave up): nothing was claimed, nothing to tidy up.
      const registered = await registerWorker(this.#store, worker, this.#leaseMs, wait).catch((error: unknown) => {
        signal?.removeEventListener('abort', stop);
        throw error;
      });
      if (!registered) {
        signal?.removeEventListener('abort', stop);
        return { ...this.#summary };
      }
    }
    const heartbeat = setInterval(() => void this.#leases.heartbeat(), this.#leases.intervalMs);
    const stopWatching = this.#store.watchForWork(() => this.#idle.wake());
    // A draining worker, or one run for a single job, fires no schedule and prunes nothing: it is about to exit.
    const oneOff = this.#options.drain === true || this.#options.jobId !== undefined;
    const stopFiring = oneOff ? undefined : fireSchedules(this.#store, this.#tasks, this.#pollMs, this.#log);
    const stopPruning = oneOff ? undefined : startPruning(this.#store, this.#tasks, this.#log, this.#options.pruneEveryMs);
    // For the status only (every claim reads the limits it obeys itself): a failure costs nothing else.
    if (register) {
      await publishDefinedLimits(this.#store, this.#tasks.values()).catch((error: unknown) =>
        this.#log.warn(`could not record the limits of this worker's tasks for the status (${toError(error).message})`),
      );
    }
    this.#options.onRunning?.();
    try {
      await this.#claimUntilStopped();
      const { fatal } = this.#faults;
      if (fatal) this.#abortRunning(fatal);
      await this.#finishRunning();
      if (fatal) throw fatal;
    } finally {
      clearInterval(heartbeat);
      stopWatching();
      await stopFiring?.();
      await stopPruning?.();
      signal?.removeEventListener('abort', stop);
      if (register) {
        await this.#store
          .deleteWorker(this.id)
          .catch((error: unknown) => this.#log.warn(`could not remove worker ${this.id} from the workers table: ${toError(error).message}`));
      }
      await this.#store.workerStopped(await this.#isLastWorker());
    }
    return { ...this.#summary };
  }

  /** Whether no other worker is alive on the database (unknown, when it cannot be read: not the last). */
  async #isLastWorker(): Promise<boolean> {
    const live = await liveWorkers(this.#store).catch(() => undefined);
    return live?.every((worker) => worker.id === this.id) === true;
  }

  /** Claim nothing more; running jobs get the grace period, then go back to the queue. */
  stop(): void {
    this.#stopping = true;
    this.#idle.wake();
  }

  /** A damaged file, or a draining worker that cannot claim: what runs is given back at once. */
  #abortRunning(reason: Error): void {
    for (const run of this.#running.values()) run.stop(new ShutdownError(`worker stopped: ${reason.message}`));
  }

  async #claimUntilStopped(): Promise<void> {
    while (!this.#stopping) {
      // A long job among short ones: what waits behind it goes back, and nothing more is claimed ahead.
      const heldUp = this.#heldUp();
      if (heldUp) this.#giveBackWaiting();
      const ahead = this.#options.jobId === undefined && this.#averageRunMs < SHORT_JOB_MS && !heldUp ? this.#store.claimAhead : 0;
      const free = this.#concurrency + ahead - this.#running.size;
      // With jobs claimed ahead here already, the next claim waits until they have run.
      if (free > 0 && (ahead === 0 || this.#running.size <= this.#concurrency)) {
        let jobs: ClaimedJob[];
        let heldBack: HeldBack | undefined;
        try {
          const options = {
            jobId: this.#options.jobId,
            tasks: this.#taskNames,
            limits: this.#limits,
            free: Math.max(0, this.#concurrency - this.#running.size),
          };
          ({ jobs, heldBack } = await claimWithLimits(this.#store, this.id, free, this.#leaseMs, options));
        } catch (error) {
          // The file may be locked for long (a big restore) or briefly unusable: wait and try again.
          const retryMs = Math.max(this.#pollMs, CLAIM_RETRY_MS);
          if (this.#faults.claimFailed(error, retryMs)) {
            this.stop();
            return;
          }
          await this.#idle.wait(retryMs);
          continue;
        }
        this.#faults.claimSucceeded();
        for (const job of jobs) this.#start(job);
        if (jobs.length === free) continue;
        // Jobs left for their limits are still to drain; a rate's next start is waited for, not polled past.
        if (jobs.length === 0 && this.#running.size === 0 && this.#options.drain && heldBack === undefined) return;
        if (heldBack?.retryAt !== undefined) {
          await this.#idle.wait(Math.max(1, Math.min(this.#pollMs, heldBack.retryAt - Date.now())));
          continue;
        }
      }
      await this.#idle.wait(this.#pollMs);
    }
    // Jobs claimed ahead and not started go back to the queue as they come up (released, not failed).
    for (const run of this.#running.values()) if (!run.started) run.stop(new ShutdownError('worker stopped before the job started'));
  }

  /**
   * Whether a job runs longer than the claim-ahead's bound (claimAhead x SHORT_JOB_MS): a long job
   * among short ones, which the jobs claimed ahead would wait behind.
   */
  #heldUp(): boolean {
    const now = performance.now();
    const boundMs = this.#store.claimAhead * SHORT_JOB_MS;
    for (const run of this.#running.values()) if (run.started && run.state === 'running' && now - run.startedAt > boundMs) return true;
    return false;
  }

  /** The jobs claimed ahead and still waiting go back to the queue at once, their attempt not counted, for idle workers to take. */
  #giveBackWaiting(): void {
    for (const run of this.#slots.takeWaiting()) {
      if (this.#running.get(run.job.id) === run) this.#running.delete(run.job.id);
      this.#store.release(run.claim).then(
        (released) => {
          if (released) this.#summary.released += 1;
        },
        (error: unknown) =>
          this.#log.warn(`job ${run.job.id} claimed ahead could not be given back (${toError(error).message}): its lease will return it`),
      );
    }
  }

  async #finishRunning(): Promise<void> {
    if (this.#running.size === 0) return;
    if (!this.#faults.fatal) this.#log.info(`Waiting up to ${formatSeconds(this.#graceMs)} for ${this.#running.size} running job(s) to finish`);
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), this.#graceMs);
    });
    const graceExpired = await Promise.race([this.#whenNoneRunning().then(() => false), graceOver]);
    clearTimeout(timer);
    if (graceExpired) {
      for (const run of this.#running.values()) run.stop(new ShutdownError('worker stopped before the job finished'));
    }
    await this.#whenNoneRunning();
  }

  #start(job: ClaimedJob): void {
    // Claimed again while still running here: this worker's lease lapsed (its event loop was
    // blocked past it). The older run can no longer commit; stop it.
    this.#running.get(job.id)?.abort(new LeaseLostError(`job ${job.id} was claimed again`));
    const run = new JobRun(job, this.id);
    this.#running.set(job.id, run);
    // A slot is held while the handler runs, not while its completion commits: the next job
    // starts meanwhile, and completions that wait for the same fsync share it. The run stays in
    // `#running` (its lease renewed) until its outcome is written.
    this.#slots.add(
      run,
      () =>
        new Promise<void>((handlerDone) => {
          run.started = true;
          const started = performance.now();
          run.startedAt = started;
          const returned = () => {
            const ms = performance.now() - started;
            this.#averageRunMs = Number.isFinite(this.#averageRunMs) ? this.#averageRunMs * 0.9 + ms * 0.1 : ms;
            handlerDone();
          };
          void runJob(run, this.#runContext, returned).finally(() => {
            handlerDone();
            if (this.#running.get(job.id) === run) this.#running.delete(job.id);
            if (this.#running.size === 0) this.#noneRunning?.();
            this.#idle.wake();
          });
        }),
    );
  }

  /** Resolves once no run is left, settled or given back. */
  #whenNoneRunning(): Promise<void> {
    if (this.#running.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#noneRunning = () => {
        this.#noneRunning = undefined;
        resolve();
      };
    });
  }
}
