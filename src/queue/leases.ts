import type { JobStore, StoreTransaction } from '../store/store.js';
import { LeaseLostError } from './errors.js';
import type { JobRun } from './job-run.js';
import { keepWorkerAlive } from './live-workers.js';
import type { StorageFaults } from './storage-faults.js';

/**
 * What a completion does for the worker when its write ran longer than the worker's heartbeat:
 * the store may have had to hold back every other statement meanwhile (SQLite's one connection
 * does), heartbeats included; `renew` pushes out the worker's leases in the same transaction,
 * before it commits.
 */
export interface LeaseKeeping {
  /** Whether the worker's leases are older than its heartbeat interval. */
  due(): boolean;
  renew(tx: StoreTransaction): Promise<void>;
}

/** What the leases of a worker are kept for: the worker, as its heartbeat sees it. */
export interface LeaseHolder {
  readonly store: JobStore;
  readonly workerId: string;
  readonly leaseMs: number;
  /** The worker has a row in the workers table to keep alive too. */
  readonly registered: boolean;
  /** Its runs under way now. */
  runs(): JobRun[];
  jobsDone(): number;
  faults: StorageFaults;
  /** Called when a heartbeat failure means the worker must stop. */
  stop(): void;
}

/**
 * A worker's heartbeat: every third of the lease, the leases of its runs (fenced by attempt) and
 * its row are pushed out, and a run whose job is no longer its own is aborted. A completion that
 * held the one connection longer than that renews them in its own transaction (LeaseKeeping).
 */
export class Leases implements LeaseKeeping {
  readonly #holder: LeaseHolder;
  /** When the leases of every run were last pushed out (performance.now()). */
  #renewedAt = performance.now();
  #beating = false;

  constructor(holder: LeaseHolder) {
    this.#holder = holder;
  }

  get intervalMs(): number {
    return Math.max(50, this.#holder.leaseMs / 3);
  }

  // Counted from the last renewal, not from a write's start: writes before it in its batch, or
  // the wait for the batch, may have held the connection already.
  due(): boolean {
    return performance.now() - this.#renewedAt > this.intervalMs;
  }

  async renew(tx: StoreTransaction): Promise<void> {
    const { workerId, leaseMs, registered } = this.#holder;
    this.#renewedAt = performance.now();
    const runs = this.#holder.runs().map(({ claim }) => claim);
    await tx.renewLeases(workerId, runs, leaseMs, registered ? this.#holder.jobsDone() : undefined);
  }

  async heartbeat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    const { store, workerId, leaseMs, faults } = this.#holder;
    try {
      const running = this.#holder.runs();
      if (running.length > 0) {
        const held = new Set(
          await store.renewLeases(
            workerId,
            running.map(({ claim }) => claim),
            leaseMs,
          ),
        );
        this.#renewedAt = performance.now();
        // Only the runs that were renewed: one claimed meanwhile was not asked about.
        for (const run of running) {
          if (!held.has(run.job.id)) {
            run.stop(new LeaseLostError(`job ${run.job.id} is no longer this worker's (cancelled, or taken over after its lease expired)`));
          }
        }
      }
      if (this.#holder.registered) await keepWorkerAlive(store, workerId, leaseMs, this.#holder.jobsDone());
      faults.heartbeatSucceeded();
    } catch (error) {
      if (faults.heartbeatFailed(error, this.intervalMs)) this.#holder.stop();
    } finally {
      this.#beating = false;
    }
  }
}
