import fs from 'node:fs';
import type { Kysely, Transaction } from 'kysely';
import type { Database, JobRow, TaskSettingsRow } from '../schema.js';
import {
  runAtOf,
  StorageError,
  type BackupCopy,
  type CheckReport,
  type BatchedCompletion,
  type Claim,
  type ClaimResult,
  type ClaimOptions,
  type Durability,
  type DurationHistogram,
  type JobStore,
  type NewJobSpec,
  type StorageFault,
  type StoreTransaction,
  type WriteOptions,
  type RecoveryError,
  type JobSelection,
  type PurgeBatch,
  type FailAttemptOptions,
} from '../store.js';
import { setTaskLimits, setTaskPaused } from '../settings.js';
import type { TaskLimits } from '../limits.js';
import { keptQueuedKey, type Dedupe } from '../dedupe.js';
import { sql } from '../kysely.js';
import { durations, payloadIs, purgeJobs, retryJob, retryJobs } from './admin.js';
import { BuilderQueries, getJob, touchWorker } from '../queries.js';
import { advanceSchedule } from '../schedules.js';
import { checkDatabaseInPlace } from './check.js';
import { claimJobs } from './claim.js';
import { holdingConnection, type ImmediateSqliteDriver } from './driver.js';
import { describeStorageError, faultFile, storageFaultOf } from './faults.js';
import { GroupCommitter } from './group-commit.js';
import { completeJob, enqueueDedupedJob, enqueueJob, enqueueJobNow, enqueueJobsInOne, enqueueUniqueJob, failAttempt, renewLeases } from './jobs.js';
import { openDatabase, type OpenOptions } from './open.js';
import { removeAbandonedTemporaryFiles, writeSnapshot } from './backup.js';
import { SharedWatch } from '../shared-watch.js';
import { WakeFile, watchCommits } from './wake.js';
import { recoverExpired, recoverWorkers } from './workers.js';

/** Opens (creating it, mode 0600, unless `create` is false) a usergen database file as a store. */
export async function openSqliteStore(file: string, options: OpenOptions = {}): Promise<SqliteStore> {
  return new SqliteStore(await openDatabase(file, options));
}

/**
 * The job store in one SQLite file: one connection (better-sqlite3), writes group-committed, and
 * a wake file standing in for LISTEN/NOTIFY. Everything that belongs to the open file is held
 * here and nowhere else.
 */
export class SqliteStore extends BuilderQueries implements JobStore {
  readonly location: string;
  readonly durability: Durability;
  readonly db: Kysely<Database>;
  /**
   * 64 rather than 16: draining no-op jobs at concurrency 1, 10 and 64 at full durability, 54,404 /
   * 56,338 / 66,007 jobs/s against 33,448 / 39,498 / 59,084 (60,000 jobs, one run each). 256 drains
   * faster still (76,900 jobs/s at concurrency 1) but took the command's peak RSS from 70.3 to 73.1 MiB.
   */
  readonly claimAhead = 64;
  readonly #driver: ImmediateSqliteDriver;
  readonly #committer: GroupCommitter;
  #wakeFileOfStore: WakeFile | undefined;

  /** The file's inode when opened: a file deleted or replaced since is no longer this store's database. */
  readonly #inode: number | undefined;

  constructor(opened: { db: Kysely<Database>; driver: ImmediateSqliteDriver; file: string; durability: Durability }) {
    super();
    this.#inode = inodeOf(opened.file);
    this.db = opened.db;
    this.#driver = opened.driver;
    this.location = opened.file;
    this.durability = opened.durability;
    this.#committer = new GroupCommitter(opened.db, opened.driver);
  }

  enqueue(spec: NewJobSpec): Promise<JobRow> {
    // At normal durability a commit waits for no fsync, so a batch saves nothing: an enqueue that
    // finds the connection free and the committer idle runs at once, synchronously. The
    // committer's promises were a fifth of its cost (34,000 enqueues/s before, npm run bench).
    if (this.durability === 'normal' && this.#committer.idle) {
      try {
        const job = enqueueJobNow(this.#driver, spec);
        if (job) {
          this.#signalIfReady([job.run_at]);
          return Promise.resolve(job);
        }
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return this.#enqueueGrouped(spec);
  }

  async #enqueueGrouped(spec: NewJobSpec): Promise<JobRow> {
    const job = await this.#committer.submit((trx) => enqueueJob(trx, spec, this.#driver), { single: true });
    this.#signalIfReady([job.run_at]);
    return job;
  }

  async enqueueUnique(spec: NewJobSpec & { uniqueKey: string }): Promise<JobRow | undefined> {
    const job = await enqueueUniqueJob(this.db, spec);
    if (job) this.#signalIfReady([job.run_at]);
    return job;
  }

  async enqueueDeduped(spec: NewJobSpec & { dedupe: Dedupe }): Promise<JobRow> {
    const job = await enqueueDedupedJob(this.db, spec);
    this.#signalIfReady([job.run_at]);
    return job;
  }

  async enqueueMany(specs: readonly NewJobSpec[]): Promise<number[]> {
    // The jobs' times are counted from `created`, before the commit: one that fell due during the commit wakes the workers too.
    const created = Date.now();
    const ids = await enqueueJobsInOne(this.db, specs, created);
    this.#signalIfReady(specs.map((spec) => runAtOf(spec, created)));
    return ids;
  }

  async transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const runAts: number[] = [];
    const result = await this.db.transaction().execute((trx) => this.#run(trx, work, options, runAts));
    this.#signalIfReady(runAts);
    return result;
  }

  async write<T>(work: (tx: StoreTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const runAts: number[] = [];
    const result = await this.#committer.submit((trx) => this.#run(trx, work, options, runAts));
    this.#signalIfReady(runAts);
    return result;
  }

  #run<T>(trx: Transaction<Database>, work: (tx: StoreTransaction) => Promise<T>, options: WriteOptions, runAts: number[]): Promise<T> {
    const tx: StoreTransaction = {
      db: trx,
      async enqueue(spec) {
        const job = await enqueueJob(trx, spec);
        runAts.push(job.run_at);
        return job;
      },
      async enqueueUnique(spec) {
        const job = await enqueueUniqueJob(trx, spec);
        if (job) runAts.push(job.run_at);
        return job;
      },
      async enqueueDeduped(spec) {
        const job = await enqueueDedupedJob(trx, spec);
        runAts.push(job.run_at);
        return job;
      },
      getJob: (id) => getJob(trx, id),
      advanceSchedule: (name, from, advance) => advanceSchedule(trx, name, from, advance),
      complete: (completion) => completeJob(trx, completion),
      async renewLeases(workerId, runs, leaseMs, jobsDone) {
        const now = Date.now();
        await renewLeases(trx, workerId, runs, leaseMs, now);
        if (jobsDone !== undefined) await touchWorker(trx, workerId, now + leaseMs, jobsDone, now);
      },
    };
    const { heldMessage } = options;
    return heldMessage === undefined ? work(tx) : holdingConnection(this.#driver, heldMessage, () => work(tx));
  }

  // Made when first needed: commands that only read never touch it (naming it costs a realpath and a hash).
  get #wakeFile(): WakeFile {
    this.#wakeFileOfStore ??= new WakeFile(this.location);
    return this.#wakeFileOfStore;
  }

  /** Wakes idle workers if one of the jobs just committed is ready now. */
  #signalIfReady(runAts: readonly number[]): void {
    const now = Date.now();
    if (runAts.some((runAt) => runAt <= now)) this.#wakeFile.signal(this.durability === 'full');
  }

  claim(workerId: string, limit: number, leaseMs: number, options: ClaimOptions): Promise<ClaimResult> {
    return claimJobs(this.#driver, workerId, limit, leaseMs, { ...options, relaxSynchronous: this.durability === 'full' });
  }

  recoverExpired(now: number, error: RecoveryError): Promise<number> {
    return recoverExpired(this.db, now, error);
  }

  // Each lease counts from when the renewal runs, not from when it was asked for: it may wait for
  // the connection (a long completion holds it), and a time taken before that wait would write a
  // lease already lapsed over a fresher one.
  renewLeases(workerId: string, runs: readonly Claim[], leaseMs: number): Promise<number[]> {
    return this.db.connection().execute((connection) => renewLeases(connection, workerId, runs, leaseMs, Date.now()));
  }

  complete(completion: BatchedCompletion): Promise<boolean> {
    return this.#committer.complete(completion);
  }

  failAttempt(claim: Claim, error: string, retryAt: number | null, options: FailAttemptOptions = {}): Promise<boolean> {
    return failAttempt(this.db, claim, error, retryAt, options.counted ?? true);
  }

  touchWorker(workerId: string, leaseMs: number, jobsDone: number): Promise<void> {
    return this.db.connection().execute((connection) => {
      const now = Date.now();
      return touchWorker(connection, workerId, now + leaseMs, jobsDone, now);
    });
  }

  recoverWorkers(ids: readonly string[], now: number, error: RecoveryError): Promise<number> {
    return recoverWorkers(this.db, ids, now, error);
  }

  watchForWork(onWork: () => void): () => void {
    return this.#wakeFile.watch(onWork);
  }

  readonly #ended = new SharedWatch((notify) => watchCommits(this.location, notify));

  watchForEnded(onEnded: () => void): () => void {
    return this.#ended.subscribe(onEnded);
  }

  // Every commit is seen by the waiters (watchCommits): none needs recording.
  async waitForJobs(_ids: readonly number[]): Promise<void> {}

  async stopWaitingForJobs(_ids: readonly number[]): Promise<void> {}

  // The last worker on the database takes its wake file with it (another one starting meanwhile
  // makes it anew as it watches).
  async workerStopped(last: boolean): Promise<void> {
    if (last) this.#wakeFile.remove();
  }

  async retryJob(id: number): Promise<JobRow | undefined> {
    const job = await retryJob(this.db, id);
    if (job) this.#wakeFile.signal();
    return job;
  }

  async retryJobs(selection: JobSelection): Promise<number> {
    const count = await retryJobs(this.db, selection);
    if (count > 0) this.#wakeFile.signal();
    return count;
  }

  // A resumed task's jobs are ready at once: workers idle for want of them are woken.
  async setTaskPaused(task: string, paused: boolean, now: number): Promise<TaskSettingsRow> {
    const row = await setTaskPaused(this.db, task, paused, now);
    if (!paused) this.#wakeFile.signal();
    return row;
  }

  // Raised limits may let waiting jobs run: workers are woken.
  async setTaskLimits(task: string, limits: TaskLimits | null, now: number): Promise<TaskSettingsRow> {
    const row = await setTaskLimits(this.db, task, limits, now);
    this.#wakeFile.signal();
    return row;
  }

  protected readonly payloadIs = payloadIs;
  protected readonly keptQueuedKey = sql.raw<string | null>(keptQueuedKey('jobs', { manyRows: false }));

  purgeJobs(batch: PurgeBatch): Promise<number> {
    return purgeJobs(this.db, batch);
  }

  durations(boundsMs: readonly number[]): Promise<DurationHistogram[]> {
    return durations(this.db, boundsMs);
  }

  // The open connection goes on reading a file deleted or replaced under it, unaware: only the
  // path says that what it serves is no longer the database.
  async health(): Promise<string | undefined> {
    if (inodeOf(this.location) !== this.#inode) return `${this.location} was deleted or replaced since it was opened`;
    try {
      await getJob(this.db, 0);
      return undefined;
    } catch (error) {
      return this.describeError(error).message;
    }
  }

  // Through a read-only connection of its own (quick_check of a 1,000,000-user file: README).
  async check(kind: CheckReport['kind']): Promise<CheckReport> {
    return checkDatabaseInPlace(this.location, kind);
  }

  writeBackup(file: string, jobId: number): Promise<BackupCopy> {
    return writeSnapshot(this.location, file, jobId);
  }

  removeAbandonedBackups(dir: string): string[] {
    return removeAbandonedTemporaryFiles(dir);
  }

  // Only errors of the store's own statements are its faults: the driver tags them with their
  // file. Stricter than describeError: an error that names no file (raised by a task's own SQLite
  // handle) fails that job like any error, and cannot stop the worker.
  faultOf(error: unknown): StorageFault | undefined {
    if (error instanceof StorageError) return error.fault;
    return faultFile(error) === this.location ? storageFaultOf(error) : undefined;
  }

  describeError(error: unknown): Error {
    return describeStorageError(error, this.location);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}

function inodeOf(file: string): number | undefined {
  try {
    return fs.statSync(file).ino;
  } catch {
    return undefined;
  }
}
