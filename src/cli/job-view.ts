import path from 'node:path';
import type { StoredError } from '../queue/errors.js';
import type { HistoryView, JobView } from '../operations/job-view.js';
import { formatBytes, formatInteger, formatTime } from './output.js';

// A job for people: the pieces of a JobView (src/operations/job-view.ts) as table cells and lines.

/**
 * One line per history entry: when, which attempt, what became of it, and the error's first
 * line (its stack only in --json).
 */
export function historyLines(job: JobView): string[] {
  return job.history.map((entry) => {
    const when = entry.at === null ? 'unknown time' : formatTime(entry.at);
    return `${when}  attempt ${entry.attempt}  ${historyOutcome(entry)}`;
  });
}

function historyOutcome(entry: HistoryView): string {
  if (entry.retried_from !== undefined) return `retried by hand (it was ${entry.retried_from})`;
  const error = entry.error ? `: ${errorLine(entry.error)}` : '';
  if (entry.state === 'failed') return `failed${error}`;
  if (entry.state === 'queued') {
    const next = typeof entry.retry_at === 'string' ? `retry at ${formatTime(entry.retry_at)}` : 'back in the queue';
    return `failed, ${next}${error}`;
  }
  return `${entry.state}${error}`;
}

/** `3.21s`: from the start of the last attempt to the end, or '' if it has not ended. */
export function tookOf(job: JobView): string {
  if (job.started_at === null || job.finished_at === null) return '';
  return `${((Date.parse(job.finished_at) - Date.parse(job.started_at)) / 1000).toFixed(2)}s`;
}

/**
 * The result of a job that succeeded, else its last error's first line (a job waiting for its
 * next attempt shows why), in one line of at most `width` characters.
 */
export function outcomeOf(job: JobView, width = 60): string {
  const error = job.state === 'succeeded' ? null : job.error;
  // A task that returned nothing succeeded with the result `null`, shown as such; other jobs have no result yet.
  const hasResult = job.state === 'succeeded' || job.result !== null;
  const text = error ? errorLine(error) : hasResult ? describeResult(job.task, job.result) : '';
  const line = text.split('\n')[0]!;
  return line.length > width ? `${line.slice(0, width - 1)}…` : line;
}

function errorLine(error: StoredError): string {
  return `${error.name}: ${error.message.split('\n')[0]}`;
}

export function progressOf(job: JobView): string {
  return job.progress === null ? '' : `${job.progress.current}/${job.progress.total}`;
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
function describeValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
