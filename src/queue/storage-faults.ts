import type { Kysely } from 'kysely';
import { describeStorageError, faultFile, storageFaultOf } from '../store/sqlite/faults.js';
import { fileOfDatabase } from '../store/sqlite/open.js';
import type { Database } from '../store/schema.js';
import { toError } from '../errors.js';
import { RepeatedFailure } from './repeated-failure.js';
import type { Logger } from './worker.js';

/** A draining worker gives up once this many claims in a row failed for the file's sake (disk full, read-only). */
const DRAIN_GIVE_UP_AFTER = 3;

/**
 * What a worker does about failures of its database: which ones stop it (a damaged file; claims
 * that keep failing for the file's sake, when draining), how they read, and how often they are
 * logged. The first reason to stop is kept: the worker's run rejects with it.
 */
export class StorageFaults {
  readonly #db: Kysely<Database>;
  readonly #drain: boolean;
  readonly #claims: RepeatedFailure;
  readonly #heartbeats: RepeatedFailure;
  #fatal: Error | undefined;

  constructor(db: Kysely<Database>, log: Logger, drain: boolean) {
    this.#db = db;
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
    const fault = storageFaultOf(error);
    return this.#stopIf(error, fault === 'damaged' || (this.#drain && fault !== undefined && failures >= DRAIN_GIVE_UP_AFTER));
  }

  claimSucceeded(): void {
    this.#claims.succeeded();
  }

  /** Records a failed heartbeat; true when the worker must stop claiming. */
  heartbeatFailed(error: unknown, retryMs: number): boolean {
    this.#heartbeats.failed(this.describe(error).message, retryMs);
    return this.#stopIf(error, storageFaultOf(error) === 'damaged');
  }

  heartbeatSucceeded(): void {
    this.#heartbeats.succeeded();
  }

  /**
   * True when a job failed because this worker's database is damaged: not the job's failure but
   * the file's. A damaged file a task opened itself is the job's (the driver tags errors of the
   * database's own statements).
   */
  jobMetDamage(error: unknown): boolean {
    return this.#stopIf(error, storageFaultOf(error) === 'damaged' && faultFile(error) === this.#file());
  }

  /** A storage fault named as the user must read it: the file and the cause. */
  describe(error: unknown): Error {
    const file = this.#file();
    return file === undefined ? toError(error) : describeStorageError(error, file);
  }

  #stopIf(error: unknown, stop: boolean): boolean {
    if (stop) this.#fatal ??= this.describe(error);
    return stop;
  }

  #file(): string | undefined {
    try {
      return fileOfDatabase(this.#db);
    } catch {
      return undefined;
    }
  }
}
