import type { Kysely, Transaction } from 'kysely';
import { CompiledQuery, sql } from '../kysely.js';
import type { Database, JobRow } from '../schema.js';
import { runAtOf, type Claim, type Completion, type NewJobSpec } from '../store.js';
import { fence } from '../fence.js';
import { dedupeColumn, dedupeConflict, keptQueuedKey, type Dedupe } from '../dedupe.js';
import { heldBy } from '../queries.js';
import type { ImmediateSqliteDriver } from './driver.js';

// The statements about jobs: enqueue, renew, progress, complete, fail, release. The claim is in
// claim.ts; the statements about workers' rows and the jobs of dead workers in workers.ts; the
// operator's in admin.ts.

/**
 * One autocommit INSERT: durable (at `synchronous=FULL`) once it resolves. Precompiled, and no
 * RETURNING: measured here, an autocommit `INSERT ... RETURNING` ran at half the rate of the plain
 * INSERT (3,544/s against 7,082/s, better-sqlite3 alone), so the row is rebuilt from what was inserted.
 */
export async function enqueueJob(db: Kysely<Database>, spec: NewJobSpec, driver?: ImmediateSqliteDriver, now = Date.now()): Promise<JobRow> {
  const values = newJobValues(spec, now);
  const insert = insertOf(values);
  const { insertId } = driver?.executeNow(insert) ?? (await db.executeQuery(insert));
  return jobRowOf(values, insertId);
}

/** Like enqueueJob, synchronously, if nothing holds the connection; undefined when something does. */
export function enqueueJobNow(driver: ImmediateSqliteDriver, spec: NewJobSpec, now = Date.now()): JobRow | undefined {
  const values = newJobValues(spec, now);
  const result = driver.executeNow(insertOf(values));
  return result === undefined ? undefined : jobRowOf(values, result.insertId);
}

function insertOf(values: ReturnType<typeof newJobValues>): CompiledQuery {
  return CompiledQuery.raw(INSERT_JOB, boundValues(values));
}

/** A new job's values, bound in the order of INSERT_JOB's columns after its id. */
function boundValues(values: ReturnType<typeof newJobValues>): unknown[] {
  return [values.task, values.payload, values.priority, values.run_at, values.max_attempts, values.created_at, values.group_key];
}

function jobRowOf(values: ReturnType<typeof newJobValues>, insertId: bigint | undefined): JobRow {
  return {
    locked_by: null,
    locked_until: null,
    progress_current: null,
    progress_total: null,
    result: null,
    error: null,
    unique_key: null,
    dedupe_queued: null,
    dedupe_active: null,
    started_at: null,
    finished_at: null,
    history: null,
    ...values,
    id: Number(insertId),
  };
}

/**
 * A new job's id: one above both the highest id in the table and the highest ever purged
 * (job_id_floor), so that no id is given twice. (SQLite alone gives max(id) + 1, which would give
 * a purged newest job's id again; AUTOINCREMENT did the same through a row written by every
 * INSERT, a fifth of its cost.)
 */
export const NEW_JOB_ID = '(select max(coalesce((select max(id) from jobs), 0), id) + 1 from job_id_floor)';

const INSERT_JOB = `insert into jobs (id, task, payload, state, priority, run_at, attempts, max_attempts, created_at, group_key)
  values (${NEW_JOB_ID}, ?, ?, 'queued', ?, ?, 0, ?, ?, ?)`;

/** Rows per INSERT in enqueueJobsInOne: 7 bound values a row, far below SQLite's 32,766 a statement. */
const INSERT_CHUNK = 1_000;

/**
 * Commits one job per spec in a single transaction (all or none); returns their ids, in order. The
 * first job takes its id as every enqueue does (NEW_JOB_ID); the others follow it by multi-row
 * INSERTs of up to INSERT_CHUNK rows, which let SQLite give max(id) + 1: within one INSERT, which
 * holds the write lock, the new rows get consecutive ids ending at the last one inserted. (The
 * first row's subquery inside a multi-row INSERT made all of it a fifth slower.)
 */
export async function enqueueJobsInOne(db: Kysely<Database>, specs: readonly NewJobSpec[], now = Date.now()): Promise<number[]> {
  if (specs.length === 0) return [];
  return db.transaction().execute(async (trx) => {
    const [first, ...rest] = specs;
    const ids = [Number((await trx.executeQuery(insertOf(newJobValues(first!, now)))).insertId)];
    for (let start = 0; start < rest.length; start += INSERT_CHUNK) {
      const chunk = rest.slice(start, start + INSERT_CHUNK);
      const parameters: unknown[] = [];
      for (const spec of chunk) {
        const values = newJobValues(spec, now);
        parameters.push(...boundValues(values));
      }
      const rows = `, ${ROW}`.repeat(chunk.length - 1);
      const { insertId } = await trx.executeQuery(CompiledQuery.raw(`${INSERT_ROWS}${ROW}${rows}`, parameters));
      const last = Number(insertId);
      for (let i = chunk.length - 1; i >= 0; i--) ids.push(last - i);
    }
    return ids;
  });
}

const ROW = `(?, ?, 'queued', ?, ?, 0, ?, ?, ?)`;
const INSERT_ROWS = 'insert into jobs (task, payload, state, priority, run_at, attempts, max_attempts, created_at, group_key) values ';

function newJobValues(spec: NewJobSpec, now: number) {
  return {
    task: spec.task,
    payload: JSON.stringify(spec.payload),
    state: 'queued' as const,
    priority: spec.priority ?? 0,
    run_at: runAtOf(spec, now),
    attempts: 0,
    max_attempts: spec.maxAttempts,
    created_at: now,
    group_key: spec.groupKey ?? null,
  };
}

/**
 * Like enqueueJob, for a job that may exist at most once per `uniqueKey`, ever. Returns undefined
 * when a job with that key exists already (enqueued by this process or any other).
 */
export async function enqueueUniqueJob(
  db: Kysely<Database>,
  spec: NewJobSpec & { uniqueKey: string },
  now = Date.now(),
): Promise<JobRow | undefined> {
  return db
    .insertInto('jobs')
    .values({ ...newJobValues(spec, now), id: sql<number>`${sql.raw(NEW_JOB_ID)}`, unique_key: spec.uniqueKey })
    .onConflict((conflict) => conflict.column('unique_key').where('unique_key', 'is not', null).doNothing())
    .returningAll()
    .executeTakeFirst();
}

/**
 * A job with a dedupe key: inserted, or the job that holds the key returned (a debounce updates
 * it), in one statement. Not the hot path's precompiled INSERT: a dedupe key costs its own
 * enqueue, nobody else's.
 */
export async function enqueueDedupedJob(db: Kysely<Database>, spec: NewJobSpec & { dedupe: Dedupe }, now = Date.now()): Promise<JobRow> {
  const values = newJobValues(spec, now);
  const column = dedupeColumn(spec.dedupe);
  const text = `insert into jobs (id, task, payload, state, priority, run_at, attempts, max_attempts, created_at, group_key, ${column})
    values (${NEW_JOB_ID}, ?, ?, 'queued', ?, ?, 0, ?, ?, ?, ?) ${dedupeConflict(spec.dedupe)} returning *`;
  const parameters = [...boundValues(values), spec.dedupe.key];
  const { rows } = await db.executeQuery<JobRow>(CompiledQuery.raw(text, parameters));
  return rows[0]!;
}

/**
 * Pushes out the leases of `runs`, the runs `workerId` has under way now; returns the ids of the
 * jobs it still holds, each fenced like every write about a running job (worker and attempt): a
 * run whose job was claimed again meanwhile, even by this worker, keeps no lease alive. Only the
 * runs under way: a row it failed to settle must be let go, not kept alive.
 */
export async function renewLeases(
  db: Kysely<Database>,
  workerId: string,
  runs: ReadonlyArray<Omit<Claim, 'workerId'>>,
  leaseMs: number,
  now = Date.now(),
): Promise<number[]> {
  const held = JSON.stringify(runs.map(({ jobId, attempt }) => [jobId, attempt]));
  const { rows } = await db.executeQuery<{ id: number }>(CompiledQuery.raw(RENEW_LEASES, [now + leaseMs, held, workerId]));
  return rows.map((row) => row.id);
}

const RENEW_LEASES = `update jobs set locked_until = ?
  from json_each(?) as run
  where ${fence('jobs', `run.value ->> '$[0]'`, '?', `run.value ->> '$[1]'`)}
  returning jobs.id`;

// Hot path, precompiled: completions. One statement marks one job that wrote through its
// transaction; one statement marks a whole batch of jobs that wrote nothing of their own. Both
// go through the fence (../fence.ts): a run whose lease lapsed and whose job this same worker claimed again
// must not complete the newer attempt.
const COMPLETE_SET = `state = 'succeeded', finished_at = ?, locked_by = null, locked_until = null,
  progress_current = coalesce(progress_total, progress_current)`;
const COMPLETE_JOB = `update jobs set ${COMPLETE_SET}, result = ?
  where ${fence('jobs', '?', '?', '?')}`;
const COMPLETE_JOBS = `update jobs set ${COMPLETE_SET}, result = done.value ->> '$[1]'
  from json_each(?) as done
  where ${fence('jobs', `done.value ->> '$[0]'`, `done.value ->> '$[2]'`, `done.value ->> '$[3]'`)}
  returning jobs.id`;

/** Marks the job succeeded; must run in the transaction that holds the task's writes. */
export async function completeJob(trx: Transaction<Database>, completion: Completion, now = Date.now()): Promise<boolean> {
  const { jobId, workerId, attempt, result } = completion;
  const update = await trx.executeQuery(CompiledQuery.raw(COMPLETE_JOB, [now, result, jobId, workerId, attempt]));
  return update.numAffectedRows === 1n;
}

/**
 * Marks jobs succeeded in one statement (all or nothing); returns the ids that were still held by
 * the attempt named, the others are left alone.
 */
export async function completeJobs(db: Kysely<Database>, completions: Completion[], now = Date.now()): Promise<Set<number>> {
  const list = completions.map(({ jobId, result, workerId, attempt }) => [jobId, result, workerId, attempt]);
  const { rows } = await db.executeQuery<{ id: number }>(CompiledQuery.raw(COMPLETE_JOBS, [now, JSON.stringify(list)]));
  return new Set(rows.map((row) => row.id));
}

/**
 * Records a failed attempt: back to the queue at `retryAt` (its progress dropped), or failed for
 * good when it is null. Either way the error is appended to the job's history.
 */
export async function failAttempt(
  db: Kysely<Database>,
  claim: Claim,
  error: string,
  retryAt: number | null,
  counted = true,
  now = Date.now(),
): Promise<boolean> {
  const state = retryAt === null ? 'failed' : 'queued';
  const stored = sql`case when json_valid(${error}) then json(${error}) else json_object('name', 'Error', 'message', ${error}) end`;
  const entry = sql`json_object('at', ${now}, 'attempt', attempts, 'state', ${state}, 'error', ${stored}, 'retry_at', ${retryAt})`;
  const history = sql<string>`json_insert(coalesce(history, '[]'), '$[#]', ${entry})`;
  const update = await heldBy(
    db.updateTable('jobs').set(
      retryAt === null
        ? { state, error, history, finished_at: now, locked_by: null, locked_until: null }
        : {
            state,
            error,
            history,
            run_at: retryAt,
            locked_by: null,
            locked_until: null,
            progress_current: null,
            progress_total: null,
            dedupe_queued: sql.raw<string | null>(keptQueuedKey('jobs', { manyRows: false })),
            ...(counted ? {} : { attempts: sql<number>`attempts - 1` }),
          },
    ),
    claim,
  ).executeTakeFirst();
  return update.numUpdatedRows === 1n;
}
