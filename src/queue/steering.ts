import { UsageError } from '../errors.js';
import { CANCELLABLE, RETRYABLE } from '../store/queries.js';
import { JOB_STATES, type JobRow, type JobState } from '../store/schema.js';
import { FINAL_STATES, type JobFilter, type JobSelection, type JobStore, type PayloadValue, type PurgeBatch } from '../store/store.js';
import { JobNotFoundError, JobStateError } from './errors.js';

// Seeing and steering the queue, as the library, the command line and the pages all do it: the
// rules (which states a change applies to, what a filter may say) are here, once. Each returns
// the rows, or throws JobNotFoundError, JobStateError, or UsageError for a filter that says
// something it cannot.

/** Which jobs, newest first: `limit` (default 100, at most 10,000) of them, of an id below `before`. */
export interface JobsQuery extends JobSelection {
  before?: number | undefined;
  limit?: number | undefined;
}

export const DEFAULT_JOBS_LIMIT = 100;
export const MAX_JOBS_LIMIT = 10_000;

/** Newest first. */
export async function findJobs(store: JobStore, query: JobsQuery = {}): Promise<JobRow[]> {
  const { before, limit = DEFAULT_JOBS_LIMIT } = query;
  checkSelection(query);
  if (before !== undefined) checkInteger(before, 'before', 1, Number.MAX_SAFE_INTEGER);
  checkInteger(limit, 'limit', 1, MAX_JOBS_LIMIT);
  const filter: JobFilter = { ...pickSelection(query), before, limit };
  return store.listJobs(filter);
}

export async function getJobOrThrow(store: JobStore, id: number): Promise<JobRow> {
  checkInteger(id, 'a job id', 1, Number.MAX_SAFE_INTEGER);
  const job = await store.getJob(id);
  if (!job) throw new JobNotFoundError(id);
  return job;
}

/** Puts a failed or cancelled job back in the queue, attempts reset, its history kept. */
export async function retryJob(store: JobStore, id: number): Promise<JobRow> {
  checkInteger(id, 'a job id', 1, Number.MAX_SAFE_INTEGER);
  const after = await store.retryJob(id);
  if (!after) throw new JobStateError(id, (await getJobOrThrow(store, id)).state, RETRYABLE, 'retried');
  return after;
}

export interface Cancellation {
  job: JobRow;
  /** The state it was cancelled from: a running job stops only at its worker's next progress point. */
  was: JobState;
}

/** Cancels a queued job, or a running one (none of its writes land). */
export async function cancelJob(store: JobStore, id: number): Promise<Cancellation> {
  const before = await getJobOrThrow(store, id);
  const after = await store.cancelJob(id);
  if (!after) throw new JobStateError(id, (await getJobOrThrow(store, id)).state, CANCELLABLE, 'cancelled');
  return { job: after, was: before.state };
}

/** Retries every failed or cancelled job the selection holds, in one transaction; how many. */
export async function retryJobs(store: JobStore, selection: JobSelection): Promise<{ retried: number }> {
  checkSelection(selection, RETRYABLE, 'retried');
  requireCondition(selection, 'retried');
  return { retried: await store.retryJobs(pickSelection(selection)) };
}

/** Cancels every queued or running job the selection holds, in one transaction; how many. */
export async function cancelJobs(store: JobStore, selection: JobSelection): Promise<{ cancelled: number }> {
  checkSelection(selection, CANCELLABLE, 'cancelled');
  requireCondition(selection, 'cancelled');
  return { cancelled: await store.cancelJobs(pickSelection(selection)) };
}

/** The states a job ends in: only those can be purged. */
export type FinalState = Exclude<JobState, 'queued' | 'running'>;

export function isFinalState(state: JobState): state is FinalState {
  return FINAL_STATES.includes(state);
}

export interface PurgeOptions {
  state: FinalState;
  /** Jobs that ended at least this long before `now` go. */
  olderThanMs: number;
  now?: number;
}

/** Deletes the jobs in a final state that ended long enough ago (their users stay). */
export async function purgeJobs(store: JobStore, options: PurgeOptions): Promise<{ deleted: number }> {
  const { state, olderThanMs, now = Date.now() } = options;
  if (!isFinalState(state))
    throw new UsageError(`state must be one of ${FINAL_STATES.join(', ')}: only jobs that ended can be purged, got '${String(state)}'`);
  checkInteger(olderThanMs, 'olderThanMs', 0, Number.MAX_SAFE_INTEGER);
  const { deleted } = await purgeInBatches(store, { state, before: now - olderThanMs });
  return { deleted };
}

/** How many ended jobs one transaction of a purge deletes at most. */
export const PURGE_BATCH = 1_000;

/**
 * Deletes the ended jobs `batch` names, `limit` at a time, each batch its own transaction: a purge
 * of a million jobs holds the write lock (SQLite) or the rows (PostgreSQL) for one batch at a time,
 * and the workers' claims and completions go on between them.
 */
export async function purgeInBatches(
  store: JobStore,
  batch: Omit<PurgeBatch, 'limit'>,
  limit = PURGE_BATCH,
): Promise<{ deleted: number; batches: number }> {
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const count = await store.purgeJobs({ ...batch, limit });
    deleted += count;
    if (count > 0) batches++;
    if (count < limit) return { deleted, batches };
  }
}

/** A payload filter's field: a top-level name, as a JSON path can spell it without quoting. */
const PAYLOAD_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

/**
 * Refuses a selection that cannot mean what it says: an unknown state, a state the change does not
 * apply to (`allowed`), a payload field that is not a plain name, or a value that is not a JSON scalar.
 */
function checkSelection(selection: JobSelection, allowed: readonly JobState[] = JOB_STATES, action?: string): void {
  const { state, task, schedule, payload } = selection;
  if (state !== undefined && !allowed.includes(state)) {
    const why = action === undefined ? '' : `: only ${allowed.join(' or ')} jobs can be ${action}`;
    throw new UsageError(`state must be one of ${allowed.join(', ')}${why}, got '${String(state)}'`);
  }
  for (const [what, value] of [
    ['task', task],
    ['schedule', schedule],
  ] as const) {
    if (value !== undefined && typeof value !== 'string') throw new UsageError(`${what} must be a string, got ${typeof value}`);
  }
  if (payload === undefined) return;
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload))
    throw new UsageError('payload must be an object of field names and values');
  for (const [key, value] of Object.entries(payload)) {
    if (!PAYLOAD_KEY.test(key)) throw new UsageError(`a payload field to match is a name of letters, digits and _, got '${key}'`);
    if (!isPayloadValue(value))
      throw new UsageError(`payload.${key} must be a string, a finite number or a boolean, got ${JSON.stringify(value) ?? typeof value}`);
  }
}

/** A bulk change names at least one condition: a selection left empty by mistake (an undefined task) must not change every job. */
function requireCondition({ state, task, schedule, payload }: JobSelection, action: string): void {
  if (state === undefined && task === undefined && schedule === undefined && (payload === undefined || Object.keys(payload).length === 0)) {
    throw new UsageError(`say which jobs are to be ${action}: a state, a task, a schedule or a payload field`);
  }
}

function isPayloadValue(value: unknown): value is PayloadValue {
  return typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value));
}

/** The selection's own fields only: whatever else an object passed from code holds stays out of the query. */
function pickSelection({ state, task, schedule, payload }: JobSelection): JobSelection {
  return { state, task, schedule, payload };
}

function checkInteger(value: number, what: string, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max)
    throw new UsageError(`${what} must be an integer from ${min} to ${max}, got ${String(value)}`);
}
