import { randomBytes } from 'node:crypto';
import type { Pool } from 'pg';
import type { Expression, Kysely, Transaction } from 'kysely';
import { liveCompletions, settleCompletions, type PendingCompletion, type Written } from '../completions.js';
import { CompiledQuery, sql } from '../kysely.js';
import { printableLocation } from './location.js';
import { removeAbandonedTemporaryFiles } from '../temporary-files.js';
import { BuilderQueries, getJob, touchWorker } from '../queries.js';
import { advanceSchedule } from '../schedules.js';
import type { Database, JobRow, TaskSettingsRow } from '../schema.js';
import type {
  ClaimedJob,
  BackupCopy,
  BatchedCompletion,
  CheckReport,
  Claim,
  ClaimResult,
  ClaimOptions,
  Durability,
  DurationHistogram,
  JobStore,
  NewJobSpec,
  RecoveryError,
  StorageFault,
  StoreTransaction,
  WriteOptions,
  JobSelection,
  PurgeBatch,
  FailAttemptOptions,
} from '../store.js';
import { setTaskLimits, setTaskPaused } from '../settings.js';
import type { TaskLimits } from '../limits.js';
import { keptQueuedKey, type Dedupe } from '../dedupe.js';
import { durations, payloadIs, purgeJobs, retryJob, retryJobs } from './admin.js';
import { writeDump } from './backup.js';
import { checkSchema } from './check.js';
import { describePgError, pgFaultOf } from './faults.js';
import { claimJobs as claimStatement } from './claim.js';
import { claimLimited } from './limits.js';
import type { HeldBack } from '../limits.js';
import * as statements from './jobs.js';
import * as workerStatements from './workers.js';
import { SharedWatch } from '../shared-watch.js';
import { channelOf, listenForWork } from './wake.js';
import { openPostgres, type OpenedPg, type PgOpenOptions } from './open.js';

export async function openPgStore(url: string, options: PgOpenOptions = {}): Promise<PgStore> {
  return new PgStore(await openPostgres(url, options));
}

/** The SQL of the hot path, with the schema's name in it: made once per store. */
function statementsOf(s: string) {
  return {
    insert: statements.insertJob(s, false),
    insertUnique: statements.insertJob(s, true),
    insertMany: statements.insertJobs(s),
    claim: claimStatement(s),
    recoverExpired: workerStatements.recoverExpired(s),
    recoverWorkers: workerStatements.recoverWorkers(s),
    complete: statements.completeJob(s),
    completeMany: statements.completeJobs(s),
    renew: statements.renewLeases(s),
    fail: statements.failAttempt(s),
  };
}

/**
 * The job store in a PostgreSQL schema, for workers on many machines: claims with FOR UPDATE SKIP
 * LOCKED, wake-ups by LISTEN/NOTIFY, connections from a pool. Each write is one statement where it
 * can be (one round trip); completions of jobs that wrote nothing are gathered until the event
 * loop turns and written by one statement.
 */
export class PgStore extends BuilderQueries implements JobStore {
  readonly location: string;
  readonly durability: Durability;
  readonly db: Kysely<Database>;
  /**
   * A claim is a round trip to the server, not a call: 256 rather than SQLite's 64 drained 28,652
   * no-op jobs/s at concurrency 10 against 13,542, and 30,877 at 64 against 20,343 (22,000 jobs,
   * one run each, a local PostgreSQL 15).
   */
  readonly claimAhead = 256;
  readonly #opened: OpenedPg;
  readonly #pool: Pool;
  readonly #sql: ReturnType<typeof statementsOf>;
  readonly #channel: string;
  /** This store's rows in job_waiters. */
  readonly #waiter = randomBytes(8).toString('hex');
  #completions: PendingCompletion[] = [];

  constructor(opened: OpenedPg) {
    super();
    this.#opened = opened;
    this.#pool = opened.pool;
    this.db = opened.db;
    this.durability = opened.durability;
    this.location = printableLocation(opened.url);
    this.#sql = statementsOf(opened.schema);
    this.#channel = channelOf(opened.schema);
    this.keptQueuedKey = sql.raw<string | null>(keptQueuedKey(`${opened.schema}.jobs`, { manyRows: false }));
  }

  // Every statement on the pool goes through here, refused inside a held write as kysely's are.
  async #query<R extends object>(text: string, values: unknown[]): Promise<R[]> {
    this.#opened.held.refuseIfHeld();
    return (await this.#pool.query<R>(text, values)).rows;
  }

  async enqueue(spec: NewJobSpec): Promise<JobRow> {
    const now = Date.now();
    const [row] = await this.#query<JobRow>(this.#sql.insert, [...statements.newJobParameters(spec, now), now, this.#channel]);
    return statements.jobRowOf(row!);
  }

  async enqueueUnique(spec: NewJobSpec & { uniqueKey: string }): Promise<JobRow | undefined> {
    const now = Date.now();
    const [row] = await this.#query<JobRow>(this.#sql.insertUnique, [...statements.newJobParameters(spec, now), now, this.#channel, spec.uniqueKey]);
    return row && statements.jobRowOf(row);
  }

  async enqueueDeduped(spec: NewJobSpec & { dedupe: Dedupe }): Promise<JobRow> {
    const [row] = await this.#query<JobRow>(...this.#dedupedInsert(spec));
    return statements.jobRowOf(row!);
  }

  /** The statement of an enqueue with a dedupe key, and its values (the time read now). */
  #dedupedInsert(spec: NewJobSpec & { dedupe: Dedupe }): [string, unknown[]] {
    const now = Date.now();
    return [
      statements.insertDeduped(this.#opened.schema, spec.dedupe),
      [...statements.newJobParameters(spec, now), now, this.#channel, spec.dedupe.key],
    ];
  }

  async enqueueMany(specs: readonly NewJobSpec[]): Promise<number[]> {
    if (specs.length === 0) return [];
    const now = Date.now();
    const columns: unknown[][] = [[], [], [], [], []];
    const groups: unknown[] = [];
    for (const spec of specs) {
      const values = statements.newJobParameters(spec, now);
      for (let i = 0; i < columns.length; i++) columns[i]!.push(values[i]);
      groups.push(values[6]);
    }
    const rows = await this.#query<{ id: number }>(this.#sql.insertMany, [...columns, now, groups, now, this.#channel]);
    return rows.map((row) => row.id);
  }

  transaction<T>(work: (tx: StoreTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    const { heldMessage } = options;
    return this.#opened.writer.transaction().execute((trx) => {
      const tx = this.#storeTransaction(trx);
      return heldMessage === undefined ? work(tx) : this.#opened.held.run(heldMessage, () => work(tx));
    });
  }

  // Every write runs in a transaction of its own: the server commits concurrent ones together
  // (its WAL writer flushes many commits at once), so sharing one would save nothing here.
  write<T>(work: (tx: StoreTransaction) => Promise<T>, options: WriteOptions = {}): Promise<T> {
    return this.transaction(work, options);
  }

  #storeTransaction(trx: Transaction<Database>): StoreTransaction {
    const run = async <R extends object>(text: string, values: unknown[]) => (await trx.executeQuery<R>(CompiledQuery.raw(text, values))).rows;
    return {
      db: trx,
      enqueue: async (spec) => {
        const now = Date.now();
        const [row] = await run<JobRow>(this.#sql.insert, [...statements.newJobParameters(spec, now), now, this.#channel]);
        return statements.jobRowOf(row!);
      },
      enqueueUnique: async (spec) => {
        const now = Date.now();
        const [row] = await run<JobRow>(this.#sql.insertUnique, [...statements.newJobParameters(spec, now), now, this.#channel, spec.uniqueKey]);
        return row && statements.jobRowOf(row);
      },
      enqueueDeduped: async (spec) => {
        const [row] = await run<JobRow>(...this.#dedupedInsert(spec));
        return statements.jobRowOf(row!);
      },
      getJob: (id) => getJob(trx, id),
      advanceSchedule: (name, from, advance) => advanceSchedule(trx, name, from, advance),
      complete: async ({ jobId, workerId, attempt, result }) => {
        const { numAffectedRows } = await trx.executeQuery(CompiledQuery.raw(this.#sql.complete, [Date.now(), result, jobId, workerId, attempt]));
        return numAffectedRows === 1n;
      },
      renewLeases: async (workerId, runs, leaseMs, jobsDone) => {
        const now = Date.now();
        await run(this.#sql.renew, [now + leaseMs, ...statements.runArrays(runs), workerId]);
        if (jobsDone !== undefined) await touchWorker(trx, workerId, now + leaseMs, jobsDone, now);
      },
    };
  }

  async claim(workerId: string, limit: number, leaseMs: number, options: ClaimOptions): Promise<ClaimResult> {
    const defined = options.limits === undefined ? [] : options.tasks.filter((task) => options.limits![task] !== undefined);
    // The tasks with limits set in the database, as the last claim found them: the statement below
    // leaves them (it reads the settings itself), and the limited claim takes them from the next.
    const limitedHere =
      defined.length === 0 && this.#limitedInDatabase.length === 0
        ? defined
        : [...new Set([...defined, ...this.#limitedInDatabase])].filter((task) => options.tasks.includes(task));
    let taken: ClaimedJob[] = [];
    let heldBack: HeldBack | undefined;
    const free = Math.min(limit, options.free ?? limit);
    if (limitedHere.length > 0 && free > 0) {
      const now = Date.now();
      const claim = { workerId, leaseEnd: now + leaseMs, now, wanted: free, jobId: options.jobId };
      const limited = await this.#opened.writer
        .transaction()
        .execute((trx) => claimLimited(trx, this.#opened.schema, limitedHere, options.limits, claim));
      ({ jobs: taken, heldBack } = limited);
      if (taken.length > 0 && options.jobId !== undefined) return { jobs: taken, expired: false };
    }
    const unlimited = defined.length === 0 ? options.tasks : options.tasks.filter((task) => !defined.includes(task));
    const now = Date.now();
    const [row] = await this.#query<ClaimResult & { limited: string[] }>(this.#sql.claim, [
      workerId,
      now + leaseMs,
      now,
      unlimited,
      limit - taken.length,
      options.jobId ?? null,
    ]);
    this.#limitedInDatabase = row!.limited;
    return { jobs: taken.length === 0 ? row!.jobs : taken.concat(row!.jobs), expired: row!.expired, heldBack };
  }

  /** See claim. */
  #limitedInDatabase: readonly string[] = [];

  async recoverExpired(now: number, { name, message }: RecoveryError): Promise<number> {
    return (await this.#query(this.#sql.recoverExpired, [now, name, message])).length;
  }

  recoverWorkers(ids: readonly string[], now: number, { name, message }: RecoveryError): Promise<number> {
    return this.#opened.writer.transaction().execute(async (trx) => {
      const { rows } = await trx.executeQuery<{ id: number }>(CompiledQuery.raw(this.#sql.recoverWorkers, [now, name, message, ids]));
      await trx.deleteFrom('workers').where('id', 'in', ids).execute();
      return rows.length;
    });
  }

  async renewLeases(workerId: string, runs: readonly Claim[], leaseMs: number): Promise<number[]> {
    if (runs.length === 0) return [];
    const rows = await this.#query<{ id: number }>(this.#sql.renew, [Date.now() + leaseMs, ...statements.runArrays(runs), workerId]);
    return rows.map((row) => row.id);
  }

  complete(completion: BatchedCompletion): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.#completions.push({ ...completion, resolve, reject });
      if (this.#completions.length === 1) setImmediate(() => void this.#writeCompletions());
    });
  }

  async #writeCompletions(): Promise<void> {
    const live = liveCompletions(this.#completions);
    this.#completions = [];
    if (live.length === 0) return;
    const written = await this.#query<{ id: number }>(this.#sql.completeMany, [Date.now(), ...statements.completionArrays(live)]).then(
      (rows): Written => ({ held: new Set(rows.map((row) => row.id)) }),
      (error: unknown): Written => ({ error }),
    );
    settleCompletions(live, written);
  }

  async failAttempt(claim: Claim, error: string, retryAt: number | null, options: FailAttemptOptions = {}): Promise<boolean> {
    this.#opened.held.refuseIfHeld();
    const { rowCount } = await this.#pool.query(this.#sql.fail, [
      error,
      retryAt,
      Date.now(),
      claim.jobId,
      claim.workerId,
      claim.attempt,
      statements.errorJson(error),
      options.counted ?? true,
    ]);
    return rowCount === 1;
  }

  async touchWorker(workerId: string, leaseMs: number, jobsDone: number): Promise<void> {
    const now = Date.now();
    await touchWorker(this.db, workerId, now + leaseMs, jobsDone, now);
  }

  watchForWork(onWork: () => void): () => void {
    const { Client, config } = this.#opened;
    return listenForWork(Client, config, this.#channel, onWork);
  }

  readonly #ended = new SharedWatch((notify) => listenForWork(this.#opened.Client, this.#opened.config, `${this.#channel}_ended`, notify));

  watchForEnded(onEnded: () => void): () => void {
    return this.#ended.subscribe(onEnded);
  }

  // The trigger of migration 0004 notifies the waiters of a job as it ends, and only them.
  async waitForJobs(ids: readonly number[]): Promise<void> {
    await this.#query(`insert into ${this.#opened.schema}.job_waiters (job_id, waiter, since) select unnest($1::bigint[]), $2, $3`, [
      ids,
      this.#waiter,
      Date.now(),
    ]);
  }

  async stopWaitingForJobs(ids: readonly number[]): Promise<void> {
    await this.#query(`delete from ${this.#opened.schema}.job_waiters where waiter = $1 and job_id = any($2::bigint[])`, [this.#waiter, ids]);
  }

  async workerStopped(_last: boolean): Promise<void> {
    // Nothing to tidy: a channel outlives nobody.
  }

  async retryJob(id: number): Promise<JobRow | undefined> {
    const job = await retryJob(this.db, id);
    if (job) await this.#query('select pg_notify($1, $2)', [this.#channel, '']);
    return job;
  }

  async retryJobs(selection: JobSelection): Promise<number> {
    const count = await retryJobs(this.db, selection);
    if (count > 0) await this.#query('select pg_notify($1, $2)', [this.#channel, '']);
    return count;
  }

  // A resumed task's jobs are ready at once: workers idle for want of them are woken.
  async setTaskPaused(task: string, paused: boolean, now: number): Promise<TaskSettingsRow> {
    const row = await setTaskPaused(this.db, task, paused, now);
    if (!paused) await this.#query('select pg_notify($1, $2)', [this.#channel, '']);
    return row;
  }

  // Raised limits may let waiting jobs run: workers are woken.
  async setTaskLimits(task: string, limits: TaskLimits | null, now: number): Promise<TaskSettingsRow> {
    const row = await setTaskLimits(this.db, task, limits, now);
    await this.#query('select pg_notify($1, $2)', [this.#channel, '']);
    return row;
  }

  protected readonly payloadIs = payloadIs;
  protected readonly keptQueuedKey: Expression<string | null>;

  purgeJobs(batch: PurgeBatch): Promise<number> {
    return purgeJobs(this.db, batch);
  }

  durations(boundsMs: readonly number[]): Promise<DurationHistogram[]> {
    return durations(this.db, boundsMs);
  }

  async health(): Promise<string | undefined> {
    try {
      await this.#pool.query('select 1');
      return undefined;
    } catch (error) {
      return this.describeError(error).message;
    }
  }

  check(kind: CheckReport['kind']): Promise<CheckReport> {
    return checkSchema(this.db, this.location, kind, (error) => this.describeError(error));
  }

  writeBackup(file: string, jobId: number): Promise<BackupCopy> {
    return writeDump(this.#opened, file, jobId);
  }

  removeAbandonedBackups(dir: string): string[] {
    return removeAbandonedTemporaryFiles(dir);
  }

  faultOf(error: unknown): StorageFault | undefined {
    return pgFaultOf(error);
  }

  describeError(error: unknown): Error {
    return describePgError(error, this.#opened.url, this.#opened.schema);
  }

  // kysely ends the pool only once it has run a query of its own on it: a store that ran only the
  // pool's statements (a process that enqueues and exits) kept its idle connections, and the
  // process alive, for the pool's idle timeout (10 s).
  async close(): Promise<void> {
    await this.db.destroy();
    if (!this.#pool.ended) await this.#pool.end();
  }
}
