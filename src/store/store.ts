import type { Kysely, Transaction } from 'kysely';
import { UserError } from '../errors.js';
import type { Dedupe } from './dedupe.js';
import type { HeldBack, TaskLimits } from './limits.js';
import type { Database, JobRow, JobState, ScheduleRow, TaskSettingsRow, WorkerRow } from './schema.js';
import type { ScheduleAdvance, ScheduleSpec } from './schedules.js';

// The seam between the queue and the engines that keep its tables (src/store/sqlite/,
// src/store/postgres/). Each method is a narrow question or a write of rows: which job to run
// next, what putting back a dead worker's job does, when a job is retried, are the queue's
// (src/queue/), which asks these. The contract suite (test/store/) runs the same cases on each.

/** `full`: a commit survives power loss. `normal`: it survives a killed process only. */
export type Durability = 'full' | 'normal';
export const DURABILITIES: readonly Durability[] = ['full', 'normal'];

export const FINAL_STATES: readonly JobState[] = ['succeeded', 'failed', 'cancelled'];

export interface NewJobSpec {
  task: string;
  payload: unknown;
  maxAttempts: number;
  priority?: number | undefined;
  /** Not before this time (ms since the epoch). */
  runAt?: number | undefined;
  /** Not before this many ms after the job's created_at (when `runAt` is not given). */
  delayMs?: number | undefined;
  /** Its group, for its task's group limit. */
  groupKey?: string | undefined;
}

/** When a new job is first ready: at `runAt`, else `delayMs` after it was made (`createdAt`). */
export function runAtOf(spec: Pick<NewJobSpec, 'runAt' | 'delayMs'>, createdAt: number): number {
  return spec.runAt ?? createdAt + (spec.delayMs ?? 0);
}

/** The order jobs are claimed and started in: higher priority first, then earlier run_at, then lower id. */
export function claimOrder(a: Pick<JobRow, 'priority' | 'run_at' | 'id'>, b: Pick<JobRow, 'priority' | 'run_at' | 'id'>): number {
  return b.priority - a.priority || a.run_at - b.run_at || a.id - b.id;
}

/** What a claim returns of a job: what running it needs. */
export type ClaimedJob = Pick<JobRow, 'id' | 'task' | 'payload' | 'priority' | 'run_at' | 'attempts' | 'max_attempts'>;

export interface ClaimOptions {
  /** Claim this job only (if it is ready). */
  jobId?: number | undefined;
  /**
   * Claim only jobs of these tasks (those the worker knows): a job of another task stays queued
   * for a worker that knows it.
   */
  tasks: readonly string[];
  /** The limits of the worker's tasks that have any, from their definitions (the database's, where set, replace them). */
  limits?: Readonly<Record<string, TaskLimits>> | undefined;
  /** The worker's free slots: a limited task's jobs are claimed for them only, never ahead. */
  free?: number | undefined;
}

/** Whose a running job is: the worker that claimed it, and the attempt (its `attempts` when claimed). */
export interface Claim {
  jobId: number;
  workerId: string;
  attempt: number;
}

export interface Completion extends Claim {
  /** The task's return value, as JSON. */
  result: string;
}

/** A completion of a job that wrote nothing of its own, batched with others by the store. */
export interface BatchedCompletion extends Completion {
  /** Why the job was aborted (timeout, shutdown), else undefined: checked as the batch is written, an aborted job is left out. */
  abortedReason(): Error | undefined;
}

/** What a claim took, and whether it saw running jobs whose lease has expired (for the caller to put back). */
export interface ClaimResult {
  jobs: ClaimedJob[];
  expired: boolean;
  /** Ready jobs of limited tasks were left for their limits; `retryAt`: when a rate lets one start (else an ending must free a share). */
  heldBack?: HeldBack | undefined;
}

/**
 * The error a job put back (or failed) for its worker's sake is recorded with: `message` may hold
 * `{worker}` and `{attempt}`, filled in with the job's.
 */
export interface RecoveryError {
  name: string;
  message: string;
}

/** What telling a worker is gone takes of its row: where it ran. */
export type WorkerIdentityRow = Pick<WorkerRow, 'id' | 'pid' | 'boot_id' | 'pid_namespace' | 'start_ticks'>;

/** A host, as a worker's row records it. */
export interface HostIdentity {
  boot_id: string;
  pid_namespace: string;
}

/** A top-level payload field's value a filter matches, compared as JSON (`5` is not `"5"`). */
export type PayloadValue = string | number | boolean;

/** Which jobs: every condition given holds. */
export interface JobSelection {
  state?: JobState | undefined;
  task?: string | undefined;
  /** The jobs of the schedule of this name (their unique keys are its slots'). */
  schedule?: string | undefined;
  /** Jobs whose payload has each of these top-level fields, of this value. */
  payload?: Readonly<Record<string, PayloadValue>> | undefined;
}

export interface JobFilter extends JobSelection {
  /** Only jobs of a smaller id: the next page of a listing, newest first. */
  before?: number | undefined;
  limit: number;
}

/** Which ended jobs a purge deletes, and how many at most in one transaction. */
export interface PurgeBatch {
  state: JobState;
  /** Those that ended before this time. */
  before: number;
  /** And not before this one (what an earlier pass went through already). */
  since?: number | undefined;
  /** Of this task only. */
  task?: string | undefined;
  limit: number;
}

export interface QueueStatus {
  counts: Record<JobState, number>;
  /** Since when the oldest ready job has waited (ms since the epoch), if one waits. */
  oldest_ready_since: number | null;
  /** Jobs that ended (succeeded or failed) in the last minute. */
  finished_last_minute: number;
  /** Ready jobs per task, for the tasks some ready job has. */
  ready_by_task: Array<{ task: string; ready: number }>;
}

export type UnfinishedJob = Pick<JobRow, 'id' | 'state' | 'unique_key' | 'payload' | 'run_at'> & { state: 'queued' | 'running' };

/** How many jobs of a task are in a state, and the attempts they have used. */
export interface JobTotal {
  task: string;
  state: JobState;
  jobs: number;
  attempts: number;
}

/** How long the last attempt of a task's ended jobs (succeeded or failed) ran: a histogram. */
export interface DurationHistogram {
  task: string;
  count: number;
  sum_ms: number;
  /** For each bound asked for, in order: how many ran at most that long (cumulative). */
  at_most: number[];
}

export interface CheckReport {
  /** The database checked. */
  file: string;
  /** `quick`: pages and records, no index-to-table cross-checks (SQLite's quick_check); `full`: everything (integrity_check). */
  kind: 'quick' | 'full';
  ok: boolean;
  /** What was found wrong, at most 100 lines; empty when ok. */
  problems: string[];
  duration_ms: number;
}

/** What a backup copy holds. */
export interface BackupCopy {
  sizeBytes: number;
  users: number;
  jobs: number;
}

/** What a store hands a write that runs in its transaction: the job statements, and the transaction for a task's own tables. */
export interface StoreTransaction {
  /** kysely's builder, for the task's or application's own tables. */
  readonly db: Transaction<Database>;
  enqueue(spec: NewJobSpec): Promise<JobRow>;
  /** Undefined when a job with this key was ever enqueued. */
  enqueueUnique(spec: NewJobSpec & { uniqueKey: string }): Promise<JobRow | undefined>;
  enqueueDeduped(spec: NewJobSpec & { dedupe: Dedupe }): Promise<JobRow>;
  getJob(id: number): Promise<JobRow | undefined>;
  /** Moves a schedule on from its slot `from` (see schedules.ts); false when another fired it first, or it was paused or removed. */
  advanceSchedule(name: string, from: number, advance: ScheduleAdvance): Promise<boolean>;
  /** Marks the job succeeded, fenced by its claim; false when the claim no longer holds it. */
  complete(completion: Completion): Promise<boolean>;
  /** Pushes out the leases of `runs` and the worker's row, as the heartbeat does. */
  renewLeases(workerId: string, runs: readonly Claim[], leaseMs: number, jobsDone: number | undefined): Promise<void>;
}

export interface WriteOptions {
  /**
   * `work` runs application code given the transaction: a query through the store's own handle
   * from inside it would wait for the connection the transaction holds (SQLite has one), so it
   * rejects at once with this message instead.
   */
  heldMessage?: string;
}

/**
 * What is wrong with the database when a statement fails for its sake rather than the statement's:
 * no space left, damaged pages, no permission to write, or the disk failing. None of them goes away
 * by running the same job again.
 */
export type StorageFault = 'full' | 'damaged' | 'read-only' | 'io';

/** A storage error that the user must act on; `fault` says which kind. */
export class StorageError extends UserError {
  override name = 'StorageError';
  readonly fault: StorageFault;

  constructor(fault: StorageFault, message: string) {
    super(message);
    this.fault = fault;
  }
}

/** The line for a damaged database: what is damaged, and what to do. */
export function damagedMessage(location: string, detail: string): string {
  return `${location} is damaged: ${detail}; restore a backup (usergen backups)`;
}

/** How a failed attempt is recorded. */
export interface FailAttemptOptions {
  /** False: the attempt is given back (attempts - 1, as a release does); only with a retryAt. Default true. */
  counted?: boolean;
}

export interface JobStore {
  /** Where the tables are, fit to print: a file's absolute path (a URL would carry no password). */
  readonly location: string;
  readonly durability: Durability;
  /** kysely's builder on the store's database, for reads of the tasks' and application's own tables. */
  readonly db: Kysely<Database>;
  /** How many jobs beyond its free slots a worker whose jobs are short claims at once (src/queue/worker.ts). */
  readonly claimAhead: number;

  // Enqueueing. Each wakes idle workers once a job that is ready now has committed.
  enqueue(spec: NewJobSpec): Promise<JobRow>;
  /** Undefined when a job with this key was ever enqueued (by any process). */
  enqueueUnique(spec: NewJobSpec & { uniqueKey: string }): Promise<JobRow | undefined>;
  /** The new job, or the one that holds its dedupe key (for a debounce, with this one's payload and run time). */
  enqueueDeduped(spec: NewJobSpec & { dedupe: Dedupe }): Promise<JobRow>;
  /** All in one transaction, or none; ids in order. */
  enqueueMany(specs: readonly NewJobSpec[]): Promise<number[]>;
  /** `work` in one transaction of its own, committed when it resolves (its jobs' workers woken then). */
  transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options?: WriteOptions): Promise<T>;
  /** `work` in a transaction shared with other writes submitted meanwhile (one commit for all); one that throws is rolled back alone. */
  write<T>(work: (tx: StoreTransaction) => Promise<T>, options?: WriteOptions): Promise<T>;

  // A worker's hot path. Every write about a running job is fenced by its claim (worker and attempt).
  /** Claims the best `limit` ready jobs (by claimOrder), leased for `leaseMs`; they come in no particular order. */
  claim(workerId: string, limit: number, leaseMs: number, options: ClaimOptions): Promise<ClaimResult>;
  /** Puts back (or fails, with no attempts left) the running jobs whose lease ran out before `now`; returns how many. */
  recoverExpired(now: number, error: RecoveryError): Promise<number>;
  /** Pushes out the leases of `runs`; returns the ids of the jobs it still holds. */
  renewLeases(workerId: string, runs: readonly Claim[], leaseMs: number): Promise<number[]>;
  saveProgress(claim: Claim, current: number, total: number): Promise<boolean>;
  /** Resolves true once the job is recorded succeeded, false when it was no longer held; batched with others. */
  complete(completion: BatchedCompletion): Promise<boolean>;
  /** Back to the queue at `retryAt`, or failed for good when it is null; the error appended to the history. */
  failAttempt(claim: Claim, error: string, retryAt: number | null, options?: FailAttemptOptions): Promise<boolean>;
  /** Gives an interrupted job back to the queue; the interrupted attempt does not count. */
  release(claim: Claim): Promise<boolean>;

  // Workers' rows.
  /** Writes a worker's row (over a row of its id: a registration retried after a lost connection). */
  insertWorker(worker: WorkerRow): Promise<void>;
  /** Pushes out the worker's `alive_until` by `leaseMs`. */
  touchWorker(workerId: string, leaseMs: number, jobsDone: number): Promise<void>;
  deleteWorker(workerId: string): Promise<void>;
  /** The workers whose lease runs past `now`, oldest first. */
  workersInLease(now: number): Promise<WorkerRow[]>;
  /** The rows of the workers recorded on `host`. */
  workersOnHost(host: HostIdentity): Promise<WorkerIdentityRow[]>;
  /** Puts back (or fails) the running jobs of the workers `ids` and deletes their rows, in one transaction; returns how many jobs. */
  recoverWorkers(ids: readonly string[], now: number, error: RecoveryError): Promise<number>;
  /** Calls `onWork` when another process enqueues a job that is ready; returns a function that stops it. */
  watchForWork(onWork: () => void): () => void;
  /** Calls `onEnded` (at times when nothing ended, too) after a commit that may have ended a job waited for (see waitForJobs); returns a function that stops it. One wake-up serves every caller. */
  watchForEnded(onEnded: () => void): () => void;
  /** Says that this process waits for the jobs `ids` to end (an engine that wakes only the waiters of a job records it). */
  waitForJobs(ids: readonly number[]): Promise<void>;
  /** No longer waits for the jobs `ids`. */
  stopWaitingForJobs(ids: readonly number[]): Promise<void>;
  /** A worker has stopped; `last` when no other is alive on the database, which then tidies up its wake-up channel. */
  workerStopped(last: boolean): Promise<void>;

  // What the queue is told at run time (its rules are the queue's: src/queue/pauses.ts, retention.ts).
  /** Pauses (no claim takes its jobs from the commit on) or resumes the task (workers woken); its row now. */
  setTaskPaused(task: string, paused: boolean, now: number): Promise<TaskSettingsRow>;
  /** The paused tasks, by name. */
  pausedTasks(): Promise<TaskSettingsRow[]>;
  /** Sets the task's limits in place of its definition's (null: the definition's again; workers woken); its row now. */
  setTaskLimits(task: string, limits: TaskLimits | null, now: number): Promise<TaskSettingsRow>;
  /** Every task's settings row, by name. */
  taskSettings(): Promise<TaskSettingsRow[]>;
  /** Records the limits of the definitions a worker runs (JSON, or null for none), for the status. */
  recordDefinedLimits(defined: ReadonlyArray<[task: string, limits: string | null]>, now: number): Promise<void>;
  /** A task's running jobs, and its starts since `since` (of a rate limit's window). */
  limitUse(task: string, since: number): Promise<{ running: number; starts: number }>;
  /** A queue-wide setting's JSON; undefined when never set. */
  queueSetting(name: string): Promise<string | undefined>;
  setQueueSetting(name: string, value: string, now: number): Promise<void>;

  // Schedules (their rules are the queue's: src/queue/schedules.ts).
  /** Inserts or updates the schedule of its name (its fires, skips and pause kept). */
  saveSchedule(spec: ScheduleSpec, now: number): Promise<ScheduleRow>;
  getSchedule(name: string): Promise<ScheduleRow | undefined>;
  /** By name. */
  listSchedules(): Promise<ScheduleRow[]>;
  deleteSchedule(name: string): Promise<boolean>;
  /** Undefined when there is none of that name; resumed, it goes on from `nextRunAt`. */
  setSchedulePaused(name: string, paused: boolean, nextRunAt: number | undefined, now: number): Promise<ScheduleRow | undefined>;
  /** The unpaused schedules of `tasks` due at `now`, the most overdue first. */
  dueSchedules(tasks: readonly string[], now: number): Promise<ScheduleRow[]>;
  /** The next slot of the unpaused schedules of `tasks`. */
  nextScheduleAt(tasks: readonly string[]): Promise<number | undefined>;

  // Seeing and steering the queue.
  getJob(id: number): Promise<JobRow | undefined>;
  /** The jobs of these ids that exist, in no particular order. */
  getJobs(ids: readonly number[]): Promise<JobRow[]>;
  /** Newest first. */
  listJobs(filter: JobFilter): Promise<JobRow[]>;
  /** A failed or cancelled job back to the queue; undefined if it was in neither state. */
  retryJob(id: number): Promise<JobRow | undefined>;
  /** A queued or running job cancelled; undefined if it was in neither state. */
  cancelJob(id: number): Promise<JobRow | undefined>;
  /** Deletes one batch of ended jobs (in one transaction, their unique keys kept); how many. */
  purgeJobs(batch: PurgeBatch): Promise<number>;
  queueStatus(now?: number): Promise<QueueStatus>;
  /** Whether any job is queued or running. */
  hasUnfinishedJobs(): Promise<boolean>;
  /** The queued and running jobs of `task`, newest first. */
  unfinishedJobsOf(task: string): Promise<UnfinishedJob[]>;
  /** Retries every failed or cancelled job the selection holds, in one statement; returns how many. */
  retryJobs(selection: JobSelection): Promise<number>;
  /** Cancels every queued or running job the selection holds, in one statement; returns how many. */
  cancelJobs(selection: JobSelection): Promise<number>;
  /** Per task and state, every job (what /metrics shows). */
  jobTotals(): Promise<JobTotal[]>;
  /** Per task, how long its ended jobs ran, against `boundsMs` (ascending). */
  durations(boundsMs: readonly number[]): Promise<DurationHistogram[]>;

  /** Whether the database answers now: undefined, or why not (one line). Cheap: for health checks. */
  health(): Promise<string | undefined>;
  /** Checks the database's pages without writing anything; a damaged one is reported, not thrown. */
  check(kind: CheckReport['kind']): Promise<CheckReport>;

  // Backups: whole-database copies.
  /**
   * Writes a consistent copy of the database to `file` (0600, checked, renamed into place) while
   * others keep writing. In the copy, job `jobId` (the backup's own, running now) is marked
   * succeeded: restored, the copy must not run that backup again.
   */
  writeBackup(file: string, jobId: number): Promise<BackupCopy>;
  /** Removes from `dir` the temporary files of copies this host's killed processes left; returns their paths. */
  removeAbandonedBackups(dir: string): string[];

  // Faults.
  /** The storage fault behind `error` when it is about this store's own database, else undefined. */
  faultOf(error: unknown): StorageFault | undefined;
  /** A storage fault of this store as one line naming the database, the cause and what to do; any other error as it is. */
  describeError(error: unknown): Error;

  close(): Promise<void>;
}
