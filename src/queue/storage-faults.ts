import type { JobStore } from '../store/store.js';
import { RepeatedFailure } from './repeated-failure.js';
import type { Logger } from './worker-types.js';

/** A draining worker gives up once this many claims in a row failed for the file's sake (disk full, read-only). */
export const DRAIN_GIVE_UP_AFTER = 3;

/**
 * What a worker does about failures of its database: which ones stop it (a damaged file; claims
 * that keep failing for the file's sake, when draining), how they read, and how often they are
 * logged. The first reason to stop is kept: the worker's run rejects with it.
 */
export class StorageFaults {
  readonly #store: JobStore;
  readonly #drain: boolean;
  readonly #claims: RepeatedFailure;
  readonly #heartbeats: RepeatedFailure;
  #fatal: Error | undefined;

  constructor(store: JobStore, log: Logger, drain: boolean) {
    this.#store = store;
    this.#drain = drain;
    this.#claims = new RepeatedFailure(log, 'claiming jobs');
    this.#heartbeats = new RepeatedFailure(log, 'heartbeat');
  }

  /** Why the worker must stop and fail, once it must. */
  get fatal(): Error | undefined {
    return this.#fatal;
  }

  /** Records a failed claim; true when the worker must stop claiming. */
  claimFailed(error: unknown, retryMs: number): boolean {
    const failures = this.#claims.failed(this.describe(error).message, retryMs);
    const fault = this.#store.faultOf(error);
    return this.#stopIf(error, fault === 'damaged' || (this.#drain && fault !== undefined && failures >= DRAIN_GIVE_UP_AFTER));
  }

  claimSucceeded(): void {
    this.#claims.succeeded();
  }

  /** Records a failed heartbeat; true when the worker must stop claiming. */
  heartbeatFailed(error: unknown, retryMs: number): boolean {
    this.#heartbeats.failed(this.describe(error).message, retryMs);
    return this.#stopIf(error, this.#store.faultOf(error) === 'damaged');
  }

  heartbeatSucceeded(): void {
    this.#heartbeats.succeeded();
  }

  /**
   * True when a job failed because this worker's database is damaged: not the job's failure but
   * the database's. A damaged file a task opened itself is the job's.
   */
  jobMetDamage(error: unknown): boolean {
    return this.#stopIf(error, this.#store.faultOf(error) === 'damaged');
  }

  /** A storage fault named as the user must read it: the database and the cause. */
  describe(error: unknown): Error {
    return this.#store.describeError(error);
  }

  #stopIf(error: unknown, stop: boolean): boolean {
    if (stop) this.#fatal ??= this.describe(error);
    return stop;
  }
}
