import type { Transaction } from 'kysely';
import { UsageError } from '../errors.js';
import type { JobRow } from '../store/schema.js';
import { openStore } from '../store/open.js';
import type { Durability, JobSelection, JobStore } from '../store/store.js';
import { listSchedules, pauseSchedule, removeSchedule, resumeSchedule, saveSchedule, type Schedule, type ScheduleOptions } from './schedules.js';
import { ResultWaits, type ResultOptions } from './results.js';
import { queueRetention, setQueueRetention, type Retention, type RetentionMs } from './retention.js';
import { pauseTask, resumeTask, type TaskName, type TaskPause } from './pauses.js';
import { statusReport, type StatusReport } from './status.js';
import { setTaskLimits, storedTaskLimits, type LimitsChange, type StoredTaskLimits } from './limits.js';
import { cancelJob, cancelJobs, findJobs, purgeJobs, retryJob, retryJobs, type Cancellation, type JobsQuery, type PurgeOptions } from './steering.js';
import { jobSpec, type EnqueueOptions, type TaskDefinition, type TaskOf } from './task.js';
import { Worker, type Logger, type WorkerOptions } from './worker.js';
import { openInTestFolder, runUntilIdle, type IdleReport, type RunUntilIdleOptions, type TestQueueOptions } from './testing.js';

export interface OpenQueueOptions {
  /**
   * The database: an SQLite file (created, mode 0600, if missing), or a PostgreSQL URL
   * (`postgres://user:password@host:port/database`; usergen's tables are created in their schema).
   */
  db: string;
  /** `full` (default): a commit survives power loss. `normal`: it survives a killed process only. */
  durability?: Durability;
  /** PostgreSQL: the schema that holds usergen's tables (default `usergen`). */
  pgSchema?: string;
  /** PostgreSQL: connections in the pool (default 10): a worker needs about its concurrency plus 2 when its jobs write. */
  connections?: number;
}

declare const resultType: unique symbol;

/**
 * A job as the table holds it (times in ms since the epoch, payload and result as JSON). `R` is
 * its task's result, as `queue.result(job)` gives it (unknown for a job read by id).
 */
export type Job<R = unknown> = JobRow & { readonly [resultType]?: R };

export interface QueueWorkerOptions extends Omit<WorkerOptions, 'register' | 'jobId' | 'logger'> {
  logger?: Logger;
}

/** kysely's transaction on the application's own tables, whose types are the application's. */
// biome-ignore lint/suspicious/noExplicitAny: usergen cannot know the application's tables.
export type AppTransaction = Transaction<any>;

/** What `queue.transaction` hands its callback: enqueue, and the application's own queries, in one transaction. */
export interface QueueTransaction {
  /** The transaction, for the application's own tables (kysely's builder). */
  readonly db: AppTransaction;
  /** Validates the payload and adds one job to the transaction: it is committed with the rest, or not at all. */
  enqueue<P>(task: TaskOf<P>, payload: NoInfer<P>, options?: Omit<EnqueueOptions, 'uniqueKey'>): Promise<Job>;
}

/**
 * One open database and everything that works on it: enqueue, workers, reads. Close it when done
 * (`await queue.close()`): a worker still running on it must be stopped first.
 */
export class Queue {
  /** Where the jobs are: the database file's absolute path, or the PostgreSQL URL without its password. */
  readonly file: string;
  readonly #store: JobStore;
  readonly #results: ResultWaits;
  /** Called once the store is closed: a test queue's folder is removed then. */
  readonly #afterClose: (() => void) | undefined;

  private constructor(store: JobStore, afterClose?: () => void) {
    this.#store = store;
    this.#afterClose = afterClose;
    this.#results = new ResultWaits(store);
    this.file = store.location;
  }

  /** Opens (creating it if missing) the database and brings its schema up to date. */
  static async open(options: OpenQueueOptions): Promise<Queue> {
    const { db, durability, pgSchema, connections } = options;
    return new Queue(await openStore(db, { durability, pgSchema, connections }));
  }

  /**
   * Validates the payload and commits one job; when this resolves the job is in the database.
   * With `uniqueKey`, resolves undefined (and enqueues nothing) when a job with that key was ever enqueued.
   */
  enqueue<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options: EnqueueOptions & { uniqueKey: string }): Promise<Job<R> | undefined>;
  enqueue<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options?: EnqueueOptions & { uniqueKey?: undefined }): Promise<Job<R>>;
  enqueue<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options?: EnqueueOptions): Promise<Job<R> | undefined>;
  async enqueue<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options: EnqueueOptions = {}): Promise<Job<R> | undefined> {
    const { uniqueKey, ...rest } = options;
    const spec = jobSpec(task, payload, rest);
    if (spec.dedupe !== undefined) {
      if (uniqueKey !== undefined) throw new UsageError('a job has a uniqueKey or a dedupe key, not both');
      return this.#store.enqueueDeduped({ ...spec, dedupe: spec.dedupe });
    }
    return uniqueKey === undefined ? this.#store.enqueue(spec) : this.#store.enqueueUnique({ ...spec, uniqueKey });
  }

  /**
   * Validates every payload, then commits one job each in a single transaction: all of them or,
   * if any payload is refused, none. Returns their ids, in order.
   */
  async enqueueMany<P>(task: TaskOf<P>, payloads: ReadonlyArray<NoInfer<P>>, options: Omit<EnqueueOptions, 'uniqueKey'> = {}): Promise<number[]> {
    if (options.dedupe !== undefined || options.debounceMs !== undefined) throw new UsageError('enqueueMany takes no dedupe key: enqueue each job');
    return this.#store.enqueueMany(payloads.map((payload) => jobSpec(task, payload, options)));
  }

  /**
   * Runs `work` in one write transaction: the jobs it enqueues and the rows it writes through
   * `tx.db` commit together, or (it throws) not at all. Workers are woken once it has committed.
   * Inside it, use `tx` only: the database has one connection, which the transaction holds.
   */
  transaction<T>(work: (tx: QueueTransaction) => Promise<T>): Promise<T> {
    return this.#store.transaction(
      (tx) =>
        work({
          db: tx.db as AppTransaction,
          enqueue: async (task, payload, options) => {
            const spec = jobSpec(task, payload, options);
            return spec.dedupe === undefined ? tx.enqueue(spec) : tx.enqueueDeduped({ ...spec, dedupe: spec.dedupe });
          },
        }),
      { heldMessage: IN_TRANSACTION },
    );
  }

  /** A worker on this database, running `options.tasks` only; `await worker.run(signal)` works the queue. */
  worker(options: QueueWorkerOptions): Worker {
    return new Worker(this.#store, options);
  }

  /**
   * The result of the job (its task's return value) once it has succeeded, waiting for it across
   * processes (woken by the commit that ends it, not by polling). Rejects with JobFailedError,
   * JobCancelledError, JobNotFoundError (no such job, or purged meanwhile), ResultTimeoutError
   * after `timeoutMs` (default 30 s), or the signal's reason. Refused inside a task's handler.
   */
  result<R>(job: Job<R> | number, options?: ResultOptions): Promise<R> {
    return this.#results.wait(typeof job === 'number' ? job : job.id, options) as Promise<R>;
  }

  /** Enqueues one job and waits for its result, as `result` does. */
  async run<P, R>(task: TaskDefinition<P, R>, payload: NoInfer<P>, options: Omit<EnqueueOptions, 'uniqueKey'> & ResultOptions = {}): Promise<R> {
    const { timeoutMs, signal, ...enqueue } = options;
    const job = await this.enqueue(task, payload, enqueue);
    return this.result(job, { timeoutMs, signal });
  }

  /** The job with this id, as it is now. */
  getJob(id: number): Promise<Job | undefined> {
    return this.#store.getJob(id);
  }

  /**
   * The jobs the query selects (every condition given holds), newest first: `limit` of them
   * (default 100, at most 10,000), of an id below `before` for the next page. `payload` matches
   * top-level fields by value (`{ customer: 'acme' }`); it reads every job the other conditions leave.
   */
  jobs(query?: JobsQuery): Promise<Job[]> {
    return findJobs(this.#store, query);
  }

  /** Jobs per state, live workers, the oldest wait, the last minute's throughput, schedules: what `usergen status --json` prints. */
  status(): Promise<StatusReport> {
    return statusReport(this.#store);
  }

  /** Puts a failed or cancelled job back in the queue (attempts reset, history kept); JobStateError for any other, JobNotFoundError for none. */
  retry(id: number): Promise<Job> {
    return retryJob(this.#store, id);
  }

  /** Cancels a queued job, or a running one, which stops at its next progress point with none of its writes landed. */
  cancel(id: number): Promise<Cancellation> {
    return cancelJob(this.#store, id);
  }

  /** Retries every failed or cancelled job of the selection (`{ state: 'failed', task: 'send_mail' }`), in one transaction. */
  retryJobs(selection: JobSelection): Promise<{ retried: number }> {
    return retryJobs(this.#store, selection);
  }

  /** Cancels every queued or running job of the selection, in one transaction. */
  cancelJobs(selection: JobSelection): Promise<{ cancelled: number }> {
    return cancelJobs(this.#store, selection);
  }

  /**
   * No worker on any machine claims the task's jobs from now on (those running finish); enqueue
   * goes on. Kept in the database until `resume`.
   */
  pause(task: TaskName): Promise<TaskPause> {
    return pauseTask(this.#store, task);
  }

  /** Workers claim the task's jobs again, woken at once. */
  resume(task: TaskName): Promise<TaskPause> {
    return resumeTask(this.#store, task);
  }

  /**
   * Sets a task's limits for every worker on the database, in place of its definition's, from
   * each worker's next claim (null: the definition's again): `{ concurrency: 2, rate: '5/1s' }`.
   */
  setLimits(task: TaskName, limits: LimitsChange | null): Promise<StoredTaskLimits> {
    return setTaskLimits(this.#store, task, limits);
  }

  /** The limits set in the database (by setLimits or `usergen limit`), by task. */
  limits(): Promise<StoredTaskLimits[]> {
    return storedTaskLimits(this.#store);
  }

  /**
   * The queue-wide retention of ended jobs, per state, in ms (null: kept for ever, the default):
   * what a worker applies to the tasks it runs that have no retention of their own.
   */
  retention(): Promise<RetentionMs> {
    return queueRetention(this.#store);
  }

  /** Changes the queue-wide retention of the states named (`{ succeeded: '7d' }`; null: keep for ever); the others stay. */
  setRetention(changes: Retention): Promise<RetentionMs> {
    return setQueueRetention(this.#store, changes);
  }

  /** Deletes the jobs of a final state that ended at least `olderThanMs` ago (what a task's handler wrote stays). */
  purge(options: PurgeOptions): Promise<{ deleted: number }> {
    return purgeJobs(this.#store, options);
  }

  /**
   * Saves the schedule `name` (inserted, or updated in place): a job of `task` with `payload` at
   * each slot, fired by every worker that runs the task, one job per slot however many run.
   */
  schedule<P>(name: string, task: TaskOf<P>, payload: NoInfer<P>, options: ScheduleOptions): Promise<Schedule> {
    return saveSchedule(this.#store, name, task, payload, options);
  }

  /** Every schedule, by name, with its next slot and its last job. */
  schedules(): Promise<Schedule[]> {
    return listSchedules(this.#store);
  }

  /** Removes the schedule (its jobs stay); rejects when there is none of that name. */
  unschedule(name: string): Promise<void> {
    return removeSchedule(this.#store, name);
  }

  /** No slot of the schedule fires until it is resumed. */
  pauseSchedule(name: string): Promise<Schedule> {
    return pauseSchedule(this.#store, name);
  }

  /** The schedule fires again from its next slot; those that came while it was paused are not fired. */
  resumeSchedule(name: string): Promise<Schedule> {
    return resumeSchedule(this.#store, name);
  }

  /** A queue on a new SQLite file in a folder of its own in the OS's temporary directory, removed when the queue is closed. */
  static createTest(options: TestQueueOptions = {}): Promise<Queue> {
    return openInTestFolder(
      async (file, removeFolder) => new Queue(await openStore(file, { durability: options.durability ?? 'normal' }), removeFolder),
    );
  }

  /**
   * Runs every ready job of `options.tasks` in this process (those the run enqueues and that are
   * ready included) and resolves with what happened, once none is ready or running. For tests.
   */
  runUntilIdle(options: RunUntilIdleOptions): Promise<IdleReport> {
    return runUntilIdle(this.#store, options);
  }

  async close(): Promise<void> {
    this.#results.closeAll();
    try {
      await this.#store.close();
    } finally {
      this.#afterClose?.();
    }
  }
}

const IN_TRANSACTION =
  'inside queue.transaction(), use its tx: a query through the queue would wait for the connection this transaction holds (SQLite) or run outside it (PostgreSQL)';

/** A queue on a throwaway SQLite file for an application's tests: `const queue = await createTestQueue()`, gone with `queue.close()`. */
export function createTestQueue(options?: TestQueueOptions): Promise<Queue> {
  return Queue.createTest(options);
}

/** `const queue = await openQueue({ db: 'usergen.db' })`. */
export function openQueue(options: OpenQueueOptions): Promise<Queue> {
  return Queue.open(options);
}
