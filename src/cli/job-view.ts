import path from 'node:path';
import type { HistoryEntry, JobRow, JobState } from '../db/schema.js';
import { parseStoredError, type StoredError } from '../queue/errors.js';
import { formatBytes, formatInteger, formatTime } from './output.js';

/** A job as commands print it (`--json`): parsed JSON fields, ISO times, no lease internals. */
export interface JobView {
  id: number;
  task: string;
  state: JobRow['state'];
  payload: unknown;
  priority: number;
  attempts: number;
  max_attempts: number;
  progress: { current: number; total: number } | null;
  result: unknown;
  error: StoredError | null;
  created_at: string;
  run_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** What happened to the job, oldest first: every failed attempt, every retry by hand. */
  history: HistoryView[];
}

/** A history entry with ISO times. */
export interface HistoryView {
  at: string | null;
  attempt: number;
  state: JobState;
  error?: StoredError | null;
  retry_at?: string | null;
  retried_from?: JobState;
}

export function toJobView(job: JobRow): JobView {
  return {
    id: job.id,
    task: job.task,
    state: job.state,
    payload: JSON.parse(job.payload),
    priority: job.priority,
    attempts: job.attempts,
    max_attempts: job.max_attempts,
    progress:
      job.progress_total === null ? null : { current: job.progress_current ?? 0, total: job.progress_total },
    result: job.result === null ? null : JSON.parse(job.result),
    error: parseStoredError(job.error),
    created_at: iso(job.created_at),
    run_at: iso(job.run_at),
    started_at: job.started_at === null ? null : iso(job.started_at),
    finished_at: job.finished_at === null ? null : iso(job.finished_at),
    history: historyOf(job).map(toHistoryView),
  };
}

function historyOf(job: JobRow): HistoryEntry[] {
  return job.history === null ? [] : (JSON.parse(job.history) as HistoryEntry[]);
}

function toHistoryView({ at, retry_at, ...rest }: HistoryEntry): HistoryView {
  const view: HistoryView = { at: typeof at === 'number' ? iso(at) : null, ...rest };
  if (retry_at !== undefined) view.retry_at = typeof retry_at === 'number' ? iso(retry_at) : null;
  return view;
}

/**
 * One line per history entry: when, which attempt, what became of it, and the error's first
 * line (its stack only in --json).
 */
export function historyLines(job: JobRow): string[] {
  return historyOf(job).map((entry) => {
    const when = typeof entry.at === 'number' ? formatTime(entry.at) : 'unknown time';
    return `${when}  attempt ${entry.attempt}  ${historyOutcome(entry)}`;
  });
}

function historyOutcome(entry: HistoryEntry): string {
  if (entry.retried_from !== undefined) return `retried by hand (it was ${entry.retried_from})`;
  const error = entry.error ? `: ${errorLine(entry.error)}` : '';
  if (entry.state === 'failed') return `failed${error}`;
  if (entry.state === 'queued') {
    const next = typeof entry.retry_at === 'number' ? `retry at ${formatTime(entry.retry_at)}` : 'back in the queue';
    return `failed, ${next}${error}`;
  }
  return `${entry.state}${error}`;
}

/** `3.21s`: from the start of the last attempt to the end, or '' if it has not ended. */
export function tookOf(job: JobRow): string {
  if (job.started_at === null || job.finished_at === null) return '';
  return `${((job.finished_at - job.started_at) / 1000).toFixed(2)}s`;
}

/**
 * The result of a job that succeeded, else its last error's first line (a job waiting for its
 * next attempt shows why), in one line of at most `width` characters.
 */
export function outcomeOf(job: JobRow, width = 60): string {
  const error = job.state === 'succeeded' ? null : parseStoredError(job.error);
  const text = error ? errorLine(error) : job.result === null ? '' : describeResult(job.task, JSON.parse(job.result));
  const line = text.split('\n')[0]!;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

function errorLine(error: StoredError): string {
  return `${error.name}: ${error.message.split('\n')[0]}`;
}

export function progressOf(job: JobRow): string {
  return job.progress_total === null ? '' : `${job.progress_current ?? 0}/${job.progress_total}`;
}

/**
 * A job's result for people: a backup's as its users, size and file (the full path with
 * `fullPath`), a string as it is, anything else as JSON.
 */
export function describeResult(task: string, value: unknown, { fullPath = false } = {}): string {
  if (task === 'backup' && isBackupResult(value)) {
    const file = fullPath ? value.file : path.basename(value.file);
    return `${formatInteger(value.users)} users, ${formatBytes(value.size_bytes)} in ${file}`;
  }
  return describeValue(value);
}

function isBackupResult(value: unknown): value is { file: string; size_bytes: number; users: number } {
  if (typeof value !== 'object' || value === null) return false;
  const { file, size_bytes, users } = value as Record<string, unknown>;
  return typeof file === 'string' && typeof size_bytes === 'number' && typeof users === 'number';
}

/** A string as it is, anything else as JSON. */
export function describeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}
