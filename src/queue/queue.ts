import path from 'node:path';
import type { Kysely, Transaction } from 'kysely';
import { holdingConnection } from '../store/sqlite/driver.js';
import { openDatabase, type Durability } from '../store/sqlite/open.js';
import type { Database, JobRow } from '../store/schema.js';
import { enqueueJobsInOne, getJob } from '../store/sqlite/jobs.js';
import { enqueue, enqueueUnique, type EnqueueOptions, type TaskDefinition } from './task.js';
import { signalWork } from '../store/sqlite/wake-file.js';
import { Worker, type Logger, type WorkerOptions } from './worker.js';

export interface OpenQueueOptions {
  /** The database file; created (mode 0600) if missing. */
  db: string;
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability;
}

/** A job as the table holds it (times in ms since the epoch, payload and result as JSON). */
export type Job = JobRow;

export interface QueueWorkerOptions extends Omit<WorkerOptions, 'register' | 'jobId' | 'logger'> {
  logger?: Logger;
}

/** What `queue.transaction` hands its callback: enqueue, and the application's own queries, in one transaction. */
export interface QueueTransaction {
  /** The transaction, for the application's own tables (kysely's builder; `Transaction<any>`: its tables are the application's). */
  readonly db: Transaction<any>;
  /** Validates the payload and adds one job to the transaction: it is committed with the rest, or not at all. */
  enqueue<P>(task: TaskDefinition<P, any>, payload: NoInfer<P>, options?: EnqueueOptions): Promise<Job>;
}

/**
 * One open database and everything that works on it: enqueue, workers, reads. Close it when done
 * (`await queue.close()`): a worker still running on it must be stopped first.
 */
export class Queue {
  /** The absolute path of the database file. */
  readonly file: string;
  readonly #db: Kysely<Database>;

  private constructor(file: string, db: Kysely<Database>) {
    this.file = file;
    this.#db = db;
  }

  /** Opens (creating it if missing) the database and brings its schema up to date. */
  static async open(options: OpenQueueOptions): Promise<Queue> {
    const db = await openDatabase(options.db, { durability: options.durability });
    return new Queue(path.resolve(options.db), db);
  }

  /** Validates the payload and commits one job; when this resolves the job is in the file. */
  enqueue<P>(task: TaskDefinition<P, any>, payload: NoInfer<P>, options: EnqueueOptions = {}): Promise<Job> {
    return enqueue(this.#db, task, payload, options);
  }

  /** Like `enqueue`, unless a job with `uniqueKey` was ever enqueued: then nothing, and undefined. */
  enqueueUnique<P>(task: TaskDefinition<P, any>, payload: NoInfer<P>, uniqueKey: string): Promise<Job | undefined> {
    return enqueueUnique(this.#db, task, payload, uniqueKey);
  }

  /**
   * Validates every payload, then commits one job each in a single transaction: all of them or,
   * if any payload is refused, none. Returns their ids, in order.
   */
  async enqueueMany<P>(task: TaskDefinition<P, any>, payloads: ReadonlyArray<NoInfer<P>>, options: EnqueueOptions = {}): Promise<number[]> {
    for (const payload of payloads) task.validate(payload);
    const ids = await enqueueJobsInOne(
      this.#db,
      payloads.map((payload) => ({ task: task.name, payload, maxAttempts: task.maxAttempts, priority: options.priority, runAt: options.runAt })),
    );
    if (ids.length > 0 && (options.runAt ?? 0) <= Date.now()) signalWork(this.#db);
    return ids;
  }

  /**
   * Runs `work` in one write transaction: the jobs it enqueues and the rows it writes through
   * `tx.db` commit together, or (it throws) not at all. Workers are woken once it has committed.
   * Inside it, use `tx` only: the database has one connection, which the transaction holds.
   */
  async transaction<T>(work: (tx: QueueTransaction) => Promise<T>): Promise<T> {
    let wake = false;
    const result = await this.#db.transaction().execute((trx) =>
      holdingConnection(this.#db, IN_TRANSACTION, () =>
        work({
          db: trx as Transaction<any>,
          async enqueue(task, payload, options = {}) {
            const job = await enqueue(trx, task, payload, options);
            wake ||= job.run_at <= Date.now();
            return job;
          },
        }),
      ),
    );
    if (wake) signalWork(this.#db);
    return result;
  }

  /** A worker on this database, running `options.tasks` only; `await worker.run(signal)` works the queue. */
  worker(options: QueueWorkerOptions): Worker {
    return new Worker(this.#db, options);
  }

  /** The job with this id, as it is now. */
  getJob(id: number): Promise<Job | undefined> {
    return getJob(this.#db, id);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}

const IN_TRANSACTION = 'inside queue.transaction(), use its tx: the database has one connection and this transaction holds it';

/** `const queue = await openQueue({ db: 'usergen.db' })`. */
export function openQueue(options: OpenQueueOptions): Promise<Queue> {
  return Queue.open(options);
}
