import type { Kysely, Transaction } from 'kysely';
import type { Database, JobRow } from '../store/schema.js';
import { UsageError } from '../errors.js';
import type { NewJobSpec } from '../store/store.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from './backoff.js';
import type { Dedupe, DedupeWhile } from '../store/dedupe.js';
import { parseRetention, type Retention, type RetentionMs } from './retention.js';
import { groupKeyOf, parseLimits, type LimitsSpec } from './limits.js';
import type { TaskLimits } from '../store/limits.js';

export interface TaskContext {
  readonly jobId: number;
  /** 1 on the first attempt. */
  readonly attempt: number;
  /**
   * For reads before `complete`. Inside `complete`'s callback use its `trx`: the database has one
   * connection, which the transaction holds, so a query on `db` there would wait forever.
   */
  readonly db: Kysely<Database>;
  /** Aborted on timeout, lost lease or worker shutdown: stop work and let the rejection through. */
  readonly signal: AbortSignal;
  /** Records progress (throttled); rejects when the job is no longer this worker's to finish. */
  progress(current: number, total: number): Promise<void>;
  /**
   * Runs `write` and marks the job succeeded with its return value, in one transaction fenced by
   * the lease: either both commit, or (lease lost, crash, error) neither does. Follow-up jobs
   * enqueued through `jobs` commit with them.
   */
  complete<R>(write: (trx: Transaction<Database>, jobs: CompletionJobs) => Promise<R>): Promise<R>;
}

/** Enqueueing inside a completion's transaction. */
export interface CompletionJobs {
  /** Validates the payload and adds one job to the transaction: committed with the completion, or not at all. */
  enqueue<P>(task: TaskOf<P>, payload: NoInfer<P>, options?: Omit<EnqueueOptions, 'uniqueKey'>): Promise<JobRow>;
}

/**
 * A task of any payload and result, as lists of tasks hold them: `TaskDefinition<unknown,
 * unknown>` would refuse a typed task, whose handler takes its own payload type, not unknown.
 */
// biome-ignore lint/suspicious/noExplicitAny: see above.
export type AnyTask = TaskDefinition<any, any>;
/** A task of payload P, whatever its result. */
// biome-ignore lint/suspicious/noExplicitAny: as AnyTask, for the result only.
export type TaskOf<P> = TaskDefinition<P, any>;

export interface TaskDefinition<P = unknown, R = unknown> {
  readonly name: string;
  /** Returns the typed payload or throws: a job whose payload fails fails at once, without retries. */
  validate(payload: unknown): P;
  /** A property, not a method: its payload type is then checked both ways (no method bivariance). */
  readonly handler: (payload: P, context: TaskContext) => Promise<R>;
  readonly maxAttempts: number;
  readonly timeoutMs: number | undefined;
  readonly backoff: BackoffOptions;
  /** How long its ended jobs are kept, per state, in ms (null: for ever); a state left out takes the queue-wide default. */
  readonly retention: Partial<RetentionMs>;
  /** Its limits across every worker (those set in the database replace them). */
  readonly limits: TaskLimits;
  /** A job's group key for its group limit, from its payload. */
  readonly groupKey: ((payload: P) => string) | undefined;
}

export interface TaskSpec<P, R> {
  name: string;
  validate(payload: unknown): P;
  handler(payload: P, context: TaskContext): Promise<R>;
  maxAttempts?: number;
  timeoutMs?: number;
  backoff?: Partial<BackoffOptions>;
  /** How long its ended jobs are kept once they end (`{ succeeded: '7d', failed: '30d' }`); a worker that runs the task deletes them after. */
  retention?: Retention;
  /** At most `concurrency` running at once, `rate` starts in any window, `group.concurrency` running per group key: across every worker. */
  limits?: LimitsSpec<P>;
}

const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * Declares a task (the equivalent of Celery's `@shared_task`). It registers nothing: the
 * definition is a value, handed to the workers that run it and to `enqueue`.
 */
export function defineTask<P, R>(spec: TaskSpec<P, R>): TaskDefinition<P, R> {
  return {
    name: spec.name,
    validate: spec.validate,
    handler: spec.handler,
    maxAttempts: spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
    timeoutMs: spec.timeoutMs,
    backoff: { ...DEFAULT_BACKOFF, ...spec.backoff },
    retention: spec.retention === undefined ? {} : parseRetention(spec.retention, `task ${spec.name}: retention`),
    ...parseLimits(spec.limits, `task ${spec.name}: limits`),
  };
}

/** Whether `value` is a task definition (by its shape: one made by another copy of usergen counts too). */
export function isTaskDefinition(value: unknown): value is TaskDefinition<unknown, unknown> {
  const task = value as Partial<TaskDefinition> | null;
  return (
    typeof task === 'object' &&
    task !== null &&
    typeof task.name === 'string' &&
    typeof task.handler === 'function' &&
    typeof task.validate === 'function' &&
    typeof task.maxAttempts === 'number'
  );
}

/** The tasks a worker runs, by name; two different tasks of one name are refused. */
export function taskMap(tasks: ReadonlyArray<AnyTask>): Map<string, TaskDefinition<unknown, unknown>> {
  const byName = new Map<string, TaskDefinition<unknown, unknown>>();
  for (const task of tasks) {
    const known = byName.get(task.name);
    if (known && known !== task) throw new Error(`two different tasks are named '${task.name}'`);
    byName.set(task.name, task);
  }
  return byName;
}

export interface EnqueueOptions {
  /** Higher runs first; default 0. */
  priority?: number;
  /** Not before this time (ms since the epoch); default now. */
  runAt?: number;
  /** Not before this many ms after the job is created (ignored when `runAt` is given). */
  delayMs?: number;
  /**
   * At most one job with this key, ever (across processes): when one was enqueued already,
   * nothing is, and enqueue resolves undefined. The scheduler's one backup per slot is one.
   */
  uniqueKey?: string;
  /**
   * At most one job of this task with this key waiting (`while: 'queued'`, the default) or waiting
   * or running (`'active'`): an enqueue while one is returns that job, and enqueues nothing.
   */
  dedupe?: { key: string; while?: DedupeWhile };
  /**
   * With a dedupe key: the job runs this long after the last enqueue of its key, with the last
   * payload (an enqueue meanwhile replaces the waiting job's payload and pushes its run time).
   */
  debounceMs?: number;
}

/** Validates the payload (throws what `validate` throws), and makes what the store is given to enqueue. */
export function jobSpec<P>(
  task: TaskDefinition<P, unknown>,
  payload: P,
  options: Omit<EnqueueOptions, 'uniqueKey'> = {},
): NewJobSpec & { dedupe?: Dedupe } {
  // Not in a transaction's enqueue (its types say so; this is for callers without types).
  if ((options as EnqueueOptions).uniqueKey !== undefined) throw new UsageError('uniqueKey is taken by queue.enqueue only, not inside a transaction');
  const valid = task.validate(payload);
  const dedupe = dedupeOf(task.name, options);
  const delayMs = options.debounceMs ?? options.delayMs;
  return {
    task: task.name,
    payload,
    maxAttempts: task.maxAttempts,
    priority: options.priority,
    runAt: options.runAt,
    delayMs,
    ...(task.groupKey && { groupKey: groupKeyOf(task.groupKey, valid, task.name) }),
    ...(dedupe && { dedupe }),
  };
}

/** The dedupe key an enqueue asks for, scoped by its task; refuses what cannot go together. */
function dedupeOf(task: string, options: Omit<EnqueueOptions, 'uniqueKey'>): Dedupe | undefined {
  const { dedupe, debounceMs } = options;
  if (dedupe === undefined) {
    if (debounceMs !== undefined) throw new UsageError('debounceMs needs a dedupe key: { dedupe: { key }, debounceMs }');
    return undefined;
  }
  const { key, while: mode = 'queued' } = dedupe;
  if (typeof key !== 'string' || key.length === 0 || key.length > 500)
    throw new UsageError(`a dedupe key is a string of 1 to 500 characters, got ${JSON.stringify(key)}`);
  if (mode !== 'queued' && mode !== 'active') throw new UsageError(`dedupe.while is 'queued' or 'active', got ${JSON.stringify(mode)}`);
  if (debounceMs !== undefined) {
    if (!Number.isSafeInteger(debounceMs) || debounceMs < 0) throw new UsageError(`debounceMs must be an integer of at least 0, got ${debounceMs}`);
    if (mode !== 'queued') throw new UsageError("debounceMs replaces a waiting job: it goes with dedupe.while 'queued' only");
    if (options.runAt !== undefined || options.delayMs !== undefined) throw new UsageError('debounceMs sets the run time: not with runAt or delayMs');
  }
  // As JSON, so that no task and key spell another's: task `a/b` with key `c` is not task `a` with key `b/c`.
  return { key: JSON.stringify([task, key]), while: mode, replace: debounceMs !== undefined };
}
