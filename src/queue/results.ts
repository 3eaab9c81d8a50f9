import { AsyncLocalStorage } from 'node:async_hooks';
import { UsageError } from '../errors.js';
import type { JobRow } from '../store/schema.js';
import type { JobStore } from '../store/store.js';
import { JobCancelledError, JobFailedError, JobNotFoundError, ResultTimeoutError, parseStoredError } from './errors.js';

// Waiting for jobs' results, in any process. One reader per queue reads every job waited for in
// one query, after each commit that may have ended one (the store's wake-up: SQLite's WAL seen
// changing, PostgreSQL's NOTIFY from the job's own ending), and again shortly after: on SQLite the
// WAL is written before the commit is visible, so the read that the write woke may still see the
// job running. The reads decide, not the wake-ups: a lost wake-up costs at most FALLBACK_READ_MS.

export interface ResultOptions {
  /** How long to wait at most (default 30 s; Infinity: until the job ends). */
  timeoutMs?: number;
  /** Stops the wait: it rejects with the signal's reason. */
  signal?: AbortSignal;
}

export const DEFAULT_RESULT_TIMEOUT_MS = 30_000;

/** How often the waits read when no wake-up came (a filesystem without change notification, a lost connection). */
const FALLBACK_READ_MS = 1_000;

/** The reads after a wake-up, ms apart, until the next one (a commit seen before it is visible). */
const READS_AFTER_WAKE_MS = [1, 2, 4, 8, 16, 32];

/** The job whose handler runs in the current asynchronous context, if one does (once `tracking`). */
const handlerOf = new AsyncLocalStorage<number>();

/**
 * Whether handlers run inside handlerOf: from the first wait for a result in this process on.
 * Node 20's AsyncLocalStorage follows every promise of the process once it is used, which cost a
 * tenth of the drain rate here (npm run bench:peers, usergen drain-64: 20,426-25,484 jobs/s with
 * it, 26,811-28,790 without); a worker process that never waits for a result pays nothing.
 */
let tracking = false;

/** Runs a task's handler so that a wait for a result inside it is refused (see ResultWaits.wait). */
export function runHandler<T>(jobId: number, handler: () => T): T {
  return tracking ? handlerOf.run(jobId, handler) : handler();
}

interface Wait {
  jobId: number;
  /** The job was read at least once: gone later, it was deleted (purged). */
  seen: boolean;
  state: string;
  settle(outcome: () => unknown): void;
}

/** The waits of one queue for its jobs' results. */
export class ResultWaits {
  readonly #store: JobStore;
  readonly #waits = new Map<number, Set<Wait>>();
  #stopWatching: (() => void) | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #readAgain = false;
  #afterWake = READS_AFTER_WAKE_MS.length;

  constructor(store: JobStore) {
    this.#store = store;
  }

  /**
   * The result of job `jobId` once it has succeeded (its handler's return value, parsed from
   * JSON). Rejects with JobFailedError, JobCancelledError, JobNotFoundError (none, or deleted
   * while waited for), ResultTimeoutError, or the signal's reason.
   */
  async wait(jobId: number, options: ResultOptions = {}): Promise<unknown> {
    tracking = true;
    const running = handlerOf.getStore();
    if (running !== undefined) {
      throw new UsageError(
        `job ${running}'s handler waits for job ${jobId}: it would hold its worker's slot while it waits (the job might never get one); enqueue a follow-up job instead`,
      );
    }
    const timeoutMs = options.timeoutMs ?? DEFAULT_RESULT_TIMEOUT_MS;
    if (!(timeoutMs > 0)) throw new UsageError(`timeoutMs must be a positive number of ms (or Infinity), got ${timeoutMs}`);
    const { signal } = options;
    signal?.throwIfAborted();
    if (!this.#waits.has(jobId)) await this.#store.waitForJobs([jobId]);
    return new Promise((resolve, reject) => {
      const timer = Number.isFinite(timeoutMs) ? setTimeout(() => wait.settle(() => timedOut()), timeoutMs) : undefined;
      const timedOut = () => {
        throw new ResultTimeoutError(jobId, timeoutMs, wait.state);
      };
      const aborted = () => wait.settle(() => Promise.reject(signal!.reason));
      const wait: Wait = {
        jobId,
        seen: false,
        state: 'queued',
        settle: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', aborted);
          this.#remove(wait);
          try {
            resolve(outcome());
          } catch (error) {
            reject(error);
          }
        },
      };
      signal?.addEventListener('abort', aborted, { once: true });
      this.#add(wait);
    });
  }

  #add(wait: Wait): void {
    const waits = this.#waits.get(wait.jobId) ?? new Set();
    waits.add(wait);
    this.#waits.set(wait.jobId, waits);
    this.#stopWatching ??= this.#store.watchForEnded(() => {
      this.#afterWake = 0;
      this.#readIn(0);
    });
    this.#readIn(0);
  }

  #remove(wait: Wait): void {
    const waits = this.#waits.get(wait.jobId);
    if (!waits?.delete(wait) || waits.size > 0) return;
    this.#waits.delete(wait.jobId);
    void this.#store.stopWaitingForJobs([wait.jobId]).catch(() => {});
    if (this.#waits.size > 0) return;
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #readIn(ms: number): void {
    if (this.#reading) {
      this.#readAgain = true;
      return;
    }
    if (this.#waits.size === 0) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#read(), ms);
  }

  async #read(): Promise<void> {
    this.#timer = undefined;
    this.#reading = true;
    try {
      const ids = [...this.#waits.keys()];
      const rows = new Map((await this.#store.getJobs(ids)).map((job) => [job.id, job]));
      for (const id of ids) {
        const job = rows.get(id);
        const ended = job && outcome(job);
        for (const wait of [...(this.#waits.get(id) ?? [])]) {
          if (!job) wait.settle(() => Promise.reject(new JobNotFoundError(id, wait.seen)));
          else if (ended) wait.settle(ended);
          else {
            wait.seen = true;
            wait.state = job.state;
          }
        }
      }
    } catch {
      // The database busy or out of reach: read again at the next wake-up, or the fallback's time.
    } finally {
      this.#reading = false;
    }
    const again = this.#readAgain;
    this.#readAgain = false;
    const next = this.#afterWake < READS_AFTER_WAKE_MS.length ? READS_AFTER_WAKE_MS[this.#afterWake++]! : FALLBACK_READ_MS;
    this.#readIn(again ? READS_AFTER_WAKE_MS[0]! : next);
  }

  /** The queue is closing: every wait still under way rejects. */
  closeAll(): void {
    for (const waits of [...this.#waits.values()]) {
      for (const wait of [...waits]) wait.settle(() => Promise.reject(new Error(`the queue was closed while job ${wait.jobId} was waited for`)));
    }
  }
}

/** What an ended job comes to: its result, or the error its end is; undefined while it has not ended. */
function outcome(job: JobRow): (() => unknown) | undefined {
  switch (job.state) {
    case 'succeeded':
      return () => (job.result === null ? null : JSON.parse(job.result));
    case 'failed':
      return () => {
        throw new JobFailedError(job.id, parseStoredError(job.error));
      };
    case 'cancelled':
      return () => {
        throw new JobCancelledError(job.id);
      };
    default:
      return undefined;
  }
}
