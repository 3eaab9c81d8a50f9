import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../store/schema.js';
import { LeaseLostError } from './errors.js';
import type { ActiveJob, LeaseKeeping } from './job-context.js';
import type { StorageFaults } from './storage-faults.js';
import { heartbeatWorker, renewLeases, touchWorker } from '../store/sqlite/jobs.js';

/** What the leases of a worker are kept for: the worker, as its heartbeat sees it. */
export interface LeaseHolder {
  readonly db: Kysely<Database>;
  readonly workerId: string;
  readonly leaseMs: number;
  /** The worker has a row in the workers table to keep alive too. */
  readonly registered: boolean;
  /** Its runs under way now. */
  runs(): ActiveJob[];
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

  async renew(trx: Transaction<Database>): Promise<void> {
    const { workerId, leaseMs } = this.#holder;
    this.#renewedAt = performance.now();
    const now = Date.now();
    await renewLeases(trx, workerId, this.#holder.runs().map(({ claim }) => claim), leaseMs, now);
    if (this.#holder.registered) await touchWorker(trx, workerId, now + leaseMs, this.#holder.jobsDone(), now);
  }

  async heartbeat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    const { db, workerId, leaseMs, faults } = this.#holder;
    try {
      // Each lease counts from when its renewal runs, not from when it was asked for: the renewal
      // may wait for the connection (a long completion holds it), and a time taken before that
      // wait would write a lease already lapsed over a fresher one.
      const running = this.#holder.runs();
      if (running.length > 0) {
        const held = new Set(
          await db.connection().execute((connection) =>
            renewLeases(connection, workerId, running.map(({ claim }) => claim), leaseMs, Date.now()),
          ),
        );
        this.#renewedAt = performance.now();
        // Only the runs that were renewed: one claimed meanwhile was not asked about.
        for (const active of running) {
          if (!held.has(active.job.id) && !active.completing && !active.completed) {
            active.abort(new LeaseLostError(`job ${active.job.id} is no longer this worker's (cancelled, or taken over after its lease expired)`));
          }
        }
      }
      if (this.#holder.registered) {
        await db.connection().execute((connection) => {
          const now = Date.now();
          return heartbeatWorker(connection, workerId, now + leaseMs, this.#holder.jobsDone(), now);
        });
      }
      faults.heartbeatSucceeded();
    } catch (error) {
      if (faults.heartbeatFailed(error, this.intervalMs)) this.#holder.stop();
    } finally {
      this.#beating = false;
    }
  }
}
