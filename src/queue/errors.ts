import { UsageError, UserError } from '../errors.js';
import type { JobState } from '../store/schema.js';

/** A failure that another attempt cannot fix (unknown task, invalid payload): the job fails at once. */
export class PermanentJobError extends Error {
  override name = 'PermanentJobError';
}

export interface RetryAfterOptions {
  /**
   * Whether the attempt counts against the task's `maxAttempts` (default true): when it was the
   * last, the job fails with this error. False gives the attempt back, so the job is retried
   * even after its last one: a task that always asks so is retried for ever.
   */
  countsAsAttempt?: boolean;
  /** Default: the cause's message, else `retry after <delay>`. */
  message?: string;
  /** What the task met (the 429 response's error, say). */
  cause?: unknown;
}

/**
 * Thrown by a handler to have its job run again `delayMs` from the throw instead of after the
 * task's backoff: a rate limit's Retry-After, a service down for a known time.
 */
/** A year: a Retry-After beyond it is a bug (a date read as a delay), and would be a run time no store can write. */
const MAX_RETRY_AFTER_MS = 365 * 24 * 3_600_000;

export class RetryAfterError extends Error {
  override name = 'RetryAfterError';
  readonly delayMs: number;
  readonly countsAsAttempt: boolean;

  constructor(delayMs: number, options: RetryAfterOptions = {}) {
    // Thrown here, where the bad value is, not later as an unwritable run_at.
    if (typeof delayMs !== 'number' || !Number.isFinite(delayMs) || delayMs < 0 || delayMs > MAX_RETRY_AFTER_MS) {
      throw new UsageError(`RetryAfterError's delay must be a number of ms from 0 to ${MAX_RETRY_AFTER_MS} (a year), got ${String(delayMs)}`);
    }
    const { cause } = options;
    const message = options.message ?? (cause instanceof Error ? cause.message : `retry after ${delayMs} ms`);
    super(message, cause === undefined ? undefined : { cause });
    this.delayMs = delayMs;
    this.countsAsAttempt = options.countsAsAttempt ?? true;
  }
}

/** The job's lease was lost (it expired and another worker took the job, or it was cancelled). */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** The task ran past its `timeoutMs`. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
}

/** The worker is shutting down and gives the job back to the queue. */
export class ShutdownError extends Error {
  override name = 'ShutdownError';
}

export interface StoredError {
  name: string;
  message: string;
  stack?: string;
}

export function serializeError(error: Error): string {
  const stored: StoredError = { name: error.name, message: error.message, stack: error.stack };
  return JSON.stringify(stored);
}

export function parseStoredError(text: string | null): StoredError | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as StoredError;
  } catch {
    return { name: 'Error', message: text };
  }
}

/** What `queue.result` rejects with when the job failed: its last attempt's error. */
export class JobFailedError extends Error {
  override name = 'JobFailedError';

  constructor(
    readonly jobId: number,
    /** The error the job failed with, as stored. */
    readonly error: StoredError | null,
  ) {
    super(`job ${jobId} failed: ${error ? `${error.name}: ${error.message}` : 'no error recorded'}`);
  }
}

/** What `queue.result` rejects with when the job was cancelled. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';

  constructor(readonly jobId: number) {
    super(`job ${jobId} was cancelled`);
  }
}

/**
 * There is no job with this id: never was, or deleted (purged). `queue.result` rejects with it, and
 * so do retry, cancel and the reads of one job (a page answers 404).
 */
export class JobNotFoundError extends UserError {
  override name = 'JobNotFoundError';

  constructor(
    readonly jobId: number,
    /** It was there when a wait for its result began, and was deleted (purged) since. */
    readonly purged = false,
  ) {
    super(purged ? `job ${jobId} was purged before its result was read` : `no job ${jobId}`);
  }
}

/** The job exists, but its state does not allow the change asked for (a retry of a queued job, a cancel of an ended one). */
export class JobStateError extends UserError {
  override name = 'JobStateError';

  constructor(
    readonly jobId: number,
    readonly state: JobState,
    /** The states the change applies to. */
    readonly allowed: readonly JobState[],
    action: string,
  ) {
    super(`job ${jobId} is ${state}: only ${allowed.join(' or ')} jobs can be ${action}`);
  }
}

/** What `queue.result` rejects with when its timeout came first; the job goes on. */
export class ResultTimeoutError extends Error {
  override name = 'ResultTimeoutError';

  constructor(
    readonly jobId: number,
    readonly timeoutMs: number,
    /** The job's state when the wait gave up. */
    readonly state: string,
  ) {
    super(`job ${jobId} is still ${state} after ${timeoutMs} ms`);
  }
}
